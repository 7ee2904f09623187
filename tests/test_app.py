"""The Streamlit app's logic with streamlit.testing.v1.AppTest: real store, real embedding model."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from streamlit.testing.v1 import AppTest

from bot.config import PROJECT_DIR
from conftest import CORPUS, model_server_saying, model_server_sending, seed_copy

APP = str(PROJECT_DIR / "bot" / "app.py")
REFUSAL = "The articles don't say"
XSS_ARTICLE = """Zorblatt Harbor Festival Board Causes a Stir

date 2018-01-20 The Zorblatt harbor festival opened on Saturday with lantern boats and a fish market.

The festival organisers pinned a notice on the festival board that read <script>alert(1)</script> beside \
<img src=x onerror=alert(2)> and [a festival link](javascript:alert(3)) and **bold claims** on it.

Visitors said the lantern boats were the highlight of the evening.
"""


def plain(markdown: str) -> str:
    """What the user reads: the markdown with its backslash escapes resolved."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("  \n", "\n")


def start(monkeypatch, store, corpus, tmp_path, **env) -> AppTest:
    monkeypatch.setenv("BOT_STORE", str(store))
    monkeypatch.setenv("BOT_CORPUS", str(corpus))
    monkeypatch.setenv("BOT_FEEDBACK_LOG", str(tmp_path / "feedback.jsonl"))
    for name, value in env.items():
        monkeypatch.setenv(name, str(value))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception, at.exception
    return at


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input(key="chat").set_value(question).run()
    assert not at.exception, at.exception
    return at


def assistant(at: AppTest):
    return [m for m in at.chat_message if m.name == "assistant"]


def answer_text(message) -> str:
    return plain(message.markdown[0].value)


def html_bodies(message) -> list[str]:
    return [h.value for h in message.get("html")]


@pytest.fixture(scope="module")
def seed_folder(tmp_path_factory):
    """One corpus folder (and feedback log folder) for the seed-store tests: same settings, so the app's
    cached QA and example questions are reused between them, as between browser sessions."""
    folder = tmp_path_factory.mktemp("app-seed")
    corpus = seed_copy(folder)
    shutil.copy(CORPUS / "questions.jsonl", corpus / "questions.jsonl")
    return folder


@pytest.fixture
def seed_app(monkeypatch, seed_store, seed_folder):
    settings, _ = seed_store
    log = seed_folder / "feedback.jsonl"
    log.unlink(missing_ok=True)
    return start(monkeypatch, settings.store, seed_folder / "articles", seed_folder)


def test_question_gets_streamed_answer_with_citations_and_highlighted_passages(seed_app):
    at = seed_app
    assert at.metric[0].label == "Articles" and at.metric[0].value == "2"
    assert at.metric[1].label == "Chunks" and int(at.metric[1].value) > 0
    assert any("Last ingest: 20" in c.value for c in at.sidebar.caption)
    assert "extractive" in at.sidebar.markdown[0].value and "MiniLM" in plain(at.sidebar.markdown[0].value)

    ask(at, "What did Tillerson urge China and Russia to do?")
    (msg,) = assistant(at)
    text = answer_text(msg)
    assert "China and Russia" in text and "[1]" in text
    assert msg.expander[0].label.startswith("Sources")
    bodies = html_bodies(msg)
    assert len(bodies) == text.count("[") >= 1
    first = bodies[0]
    assert "[1]" in first and "Vancouver" in first and "voa-vancouver-talks-pressuring-north-korea.txt" in first
    quote = re.search(r"<mark>(.*?)</mark>", first).group(1)
    assert "urged China and Russia" in quote
    assert at.button(key=f"open-{at.session_state['messages'][-1]['id']}-cite-1").label.startswith("Open the article")
    assert "extractive answerer" in msg.caption[0].value


def test_a_misspelt_question_is_answered_and_the_chat_says_what_it_searched_for(seed_app):
    at = ask(seed_app, "What did Tilerson say about sanctons?")
    (msg,) = assistant(at)
    assert "Tillerson" in answer_text(msg) and "[1]" in answer_text(msg)
    notes = [plain(c.value) for c in msg.caption if plain(c.value).startswith("Note:")]
    assert any("Searched for: What did Tillerson say about sanctions?" in n and "Tilerson -> Tillerson" in n
               for n in notes), notes


def test_example_questions_on_first_load_can_be_clicked(seed_app):
    at = seed_app
    examples = [b for b in at.button if b.key and b.key.startswith("example-")]
    assert 1 <= len(examples) <= 3
    question = plain(examples[0].label)
    examples[0].click().run()
    assert not at.exception
    (user,) = [m for m in at.chat_message if m.name == "user"]
    assert plain(user.markdown[0].value) == question
    (msg,) = assistant(at)
    assert "[1]" in answer_text(msg)
    assert not [b for b in at.button if b.key and b.key.startswith("example-")]  # examples gone once chatting


def test_refusal_shows_closest_passages_labelled_not_an_answer(seed_app):
    at = ask(seed_app, "Who won the 2018 World Cup?")
    (msg,) = assistant(at)
    assert answer_text(msg).startswith(REFUSAL)
    assert "[1]" not in answer_text(msg)
    labels = [e.label for e in msg.expander]
    assert labels == ["Closest passages — these do not answer the question"]
    bodies = html_bodies(msg)
    assert bodies and all("not an answer" in b and "<mark>" in b for b in bodies)


def test_follow_up_uses_the_conversation_and_new_chat_clears_it(seed_app):
    at = ask(seed_app, "Who is South Korea's foreign minister?")
    assert "Kang Kyung-wha" in answer_text(assistant(at)[0])
    ask(at, "How did she describe the talks with the North?")
    first, second = assistant(at)
    assert "Kang Kyung-wha" in answer_text(second) and "[1]" in answer_text(second)
    # the follow-up's "she" was read through the previous turn (the CLI's mechanism): Kang Kyung-wha
    assert "Kang Kyung-wha" in at.session_state["messages"][-1]["answer"].query
    assert len(at.chat_message) == 4

    at.button(key="new-chat").click().run()
    assert not at.exception
    assert len(at.chat_message) == 0
    assert [b for b in at.button if b.key and b.key.startswith("example-")]
    ask(at, "How did she describe the talks with the North?")
    assert at.session_state["messages"][-1]["answer"].query == "How did she describe the talks with the North?"


class WatchedPath(list):
    """sys.path that records every edit moving its entries (an insert or a removal before the end)."""

    def __init__(self, items):
        super().__init__(items)
        self.shifts = []

    def insert(self, index, item):
        if index < len(self):
            self.shifts.append(("insert", index, item))
        super().insert(index, item)

    def remove(self, item):
        if self.index(item) < len(self) - 1:
            self.shifts.append(("remove", item))
        super().remove(item)

    def __setitem__(self, index, value):
        if isinstance(index, slice) and len(range(*index.indices(len(self)))) != len(value):
            self.shifts.append(("slice", index))
        super().__setitem__(index, value)

    def __delitem__(self, index):
        self.shifts.append(("del", index))
        super().__delitem__(index)


def test_the_app_never_shifts_sys_path_once_started(monkeypatch, seed_app):
    """Browser sessions run the app in threads that import while other sessions run it. An app that
    inserted and removed sys.path entries on every run moved the list under those imports, which then
    skipped a folder: ten first questions at once failed with "No module named '_strptime'" and a
    half-imported pandas. After the first run, runs and answers must leave sys.path's order alone."""
    import sys

    watched = WatchedPath(sys.path)
    monkeypatch.setattr(sys, "path", watched)
    at = ask(seed_app, "Who is South Korea's foreign minister?")
    at.button(key="new-chat").click().run()
    assert not at.exception
    assert "Kang Kyung-wha" in answer_text(assistant(ask(at, "Who is South Korea's foreign minister?"))[0])
    assert watched.shifts == []
    here = str(PROJECT_DIR / "bot")
    assert here not in watched[: len(watched) - 2], "bot/ must not come before other folders (it would shadow them)"


def test_feedback_is_appended_with_question_answer_citations_and_settings(seed_app, seed_folder):
    at = seed_app
    at.slider(key="top_k").set_value(5).run()
    ask(at, "What did Tillerson urge China and Russia to do?")
    at.feedback[0].set_value(1).run()
    assert not at.exception
    ask(at, "Who won the 2018 World Cup?")
    at.feedback[1].set_value(0).run()
    lines = (seed_folder / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    up, down = (json.loads(line) for line in lines)
    assert up["rating"] == "up" and up["question"] == "What did Tillerson urge China and Russia to do?"
    assert "[1]" in up["answer"] and up["citations"][0]["source"].startswith("voa-")
    assert up["citations"][0]["quote"] in up["answer"]
    assert up["settings"]["top_k"] == 5 and up["settings"]["strictness"] == 1.0
    assert up["settings"]["answerer"] == "extractive"
    assert down["rating"] == "down" and down["refused"] is True and down["citations"] == []
    assert down["closest"] and down["settings"]["history_turns"] == 1


def test_bad_question_is_a_readable_error_and_the_chat_stays_usable(seed_app):
    at = ask(seed_app, "?? !!")
    assert "no words to search for" in plain(at.error[0].value)
    at = ask(at, "   ")
    assert "the question is empty" in plain(at.error[-1].value)
    assert at.chat_message[-2].markdown[0].value == "*(an empty question)*"  # not an empty bubble
    ask(at, "What did Tillerson urge China and Russia to do?")
    assert "[1]" in answer_text(assistant(at)[-1])


def test_article_text_is_escaped_in_answer_and_passages(monkeypatch, tmp_path, embed_model):
    from bot.ingest import ingest
    from conftest import make_settings
    from bot.store import open_store

    corpus = seed_copy(tmp_path)
    (corpus / "zorblatt.txt").write_text(XSS_ARTICLE, encoding="utf-8")
    store = open_store(make_settings(tmp_path / "store"), embed_model, writable=True)
    ingest(store, [corpus], embed_model)
    at = start(monkeypatch, tmp_path / "store", corpus, tmp_path)
    ask(at, "What notice did the Zorblatt festival organisers pin on the festival board?")
    (msg,) = assistant(at)
    raw = msg.markdown[0].value
    # every markup character reaches markdown backslash-escaped, so it renders as text
    assert "<script>" not in raw and "](" not in raw and "**" not in raw and r"\<script\>" in raw
    assert "<script>alert(1)</script>" in plain(raw)
    body = "".join(html_bodies(msg))
    assert "<script>" not in body and "<img" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "&lt;img src=x onerror=alert(2)&gt;" in body


def test_empty_store_offers_one_action_then_uploads_are_ingested(monkeypatch, tmp_path):
    corpus = seed_copy(tmp_path)
    at = start(monkeypatch, tmp_path / "empty-store", corpus, tmp_path, BOT_MAX_UPLOAD_MB=1)
    assert not at.error
    assert "The index is empty" in at.info[0].value
    (action,) = [b for b in at.main.button]
    assert action.label == "Ingest the bundled corpus"
    assert at.chat_input[0].disabled

    action.click().run()
    assert not at.exception
    assert at.metric[0].value == "2"
    assert "Ingested" in at.success[0].value
    assert not at.chat_input(key="chat").disabled

    article = (
        "Lantern Boats Light Up Kelvingrove Harbour\n\n"
        "date 2018-02-03 The Kelvingrove harbour lantern parade drew 4,200 visitors on Saturday evening, "
        "the harbour master said.\n\nThe parade's lantern boats were built by local schools.\n"
    )
    at.file_uploader[0].upload("lantern parade.md", article.encode(), "text/markdown").run()
    assert not at.exception
    assert (corpus / "lantern-parade.md").read_text(encoding="utf-8") == article
    assert at.metric[0].value == "3"
    assert any("Added lantern-parade.md" in plain(s.value) for s in at.success)
    assert not at.file_uploader[0].value  # a fresh uploader, nothing ingested twice

    ask(at, "How many visitors did the Kelvingrove harbour lantern parade draw?")
    msg = assistant(at)[-1]
    assert "4,200" in answer_text(msg)
    assert "lantern-parade.md" in html_bodies(msg)[0]

    at.file_uploader[0].upload("huge.txt", b"word " * 250_000, "text/plain").run()
    assert not at.exception
    assert any("over the 1 MB upload limit" in plain(e.value) for e in at.error)
    assert not (corpus / "huge.txt").exists()

    # A file the ingest cannot read is said so and not left in the corpus folder.
    at.file_uploader[0].upload("photo.txt", b"\x89PNG\x00\x00binary", "text/plain").run()
    assert not at.exception
    assert any("photo.txt: skipped, it looks binary" in plain(w.value) and "not kept" in plain(w.value)
               for w in at.warning)
    assert not (corpus / "photo.txt").exists()
    assert at.metric[0].value == "3"


def test_an_upload_adds_only_itself_to_a_store_of_other_articles(monkeypatch, tmp_path, embed_model):
    # `bot ui --store DIR` over a store of the user's own news: an upload must not mix the corpus
    # folder's other articles (the two seed reports) into it.
    from conftest import make_settings

    from bot.ingest import ingest
    from bot.store import open_store

    own = tmp_path / "own-news"
    own.mkdir()
    (own / "harbour.md").write_text("Harbour Opens\n\nThe new harbour opened on Monday, the mayor said.\n")
    store = open_store(make_settings(tmp_path / "store"), embed_model, writable=True)
    ingest(store, [own], embed_model)
    del store
    corpus = seed_copy(tmp_path)
    at = start(monkeypatch, tmp_path / "store", corpus, tmp_path)
    assert at.metric[0].value == "1"
    at.file_uploader[0].upload("bridge.md", b"Bridge Closes\n\nThe old bridge closed for repairs.\n", "text/markdown").run()
    assert not at.exception
    assert at.metric[0].value == "2"  # the harbour report and the upload, not the seed reports
    assert (corpus / "bridge.md").exists()


def test_unreadable_index_is_a_readable_error(monkeypatch, tmp_path, embed_model):
    from bot.ingest import ingest
    from bot.store import open_store
    from conftest import make_settings

    corpus = seed_copy(tmp_path)
    store = open_store(make_settings(tmp_path / "store"), embed_model, writable=True)
    ingest(store, [corpus], embed_model)
    (tmp_path / "store" / "docstore.json").write_text("{ not json", encoding="utf-8")
    at = start(monkeypatch, tmp_path / "store", corpus, tmp_path)
    message = plain(at.error[0].value)
    assert "The index cannot be opened" in message and "docstore" in message
    assert "bot ingest --rebuild" in message


def test_model_server_down_is_a_readable_error_and_the_chat_stays_usable(monkeypatch, seed_store, tmp_path):
    settings, _ = seed_store
    at = start(monkeypatch, settings.store, seed_copy(tmp_path), tmp_path, BOT_ANSWERER="openai-compatible",
               BOT_LLM_BASE_URL="http://127.0.0.1:9/v1", BOT_LLM_MODEL="local-model", BOT_LLM_RETRIES=0,
               BOT_LLM_CONNECT_TIMEOUT=1)
    assert "openai-compatible" in plain(at.sidebar.markdown[0].value)
    ask(at, "What did Tillerson urge China and Russia to do?")
    assert "cannot reach the model server" in plain(at.error[0].value)
    ask(at, "Who is Canada's foreign minister?")
    assert len(at.error) == 2 and len(at.chat_message) == 4  # both turns kept, input still there
    assert not at.chat_input(key="chat").disabled


def test_a_generators_dropped_sentences_are_listed_under_its_answer(monkeypatch, seed_store, tmp_path):
    settings, _ = seed_store
    reply = ("The top U.S. diplomat urged China and Russia to fully implement United Nations sanctions [1]. "
             "Tillerson also announced a $5 billion aid package for South Korea [1].")
    with model_server_saying(reply) as base_url:
        at = start(monkeypatch, settings.store, seed_copy(tmp_path), tmp_path, BOT_ANSWERER="openai-compatible",
                   BOT_LLM_BASE_URL=base_url, BOT_LLM_MODEL="m", BOT_LLM_RETRIES=0)
        ask(at, "What did Tillerson urge China and Russia to do?")
    assert not at.exception and not at.error
    (msg,) = assistant(at)
    assert "urged China and Russia" in answer_text(msg) and "$5 billion" not in answer_text(msg)
    notes = [plain(c.value) for c in msg.caption if plain(c.value).startswith("Note:")]
    assert any("dropped (not supported by the passages)" in n and "$5 billion aid package" in n for n in notes), notes


def test_a_model_server_reply_that_is_not_a_chat_completion_is_a_readable_error(monkeypatch, seed_store, tmp_path):
    settings, _ = seed_store
    with model_server_sending('{"not":"what you expect"}') as base_url:
        at = start(monkeypatch, settings.store, seed_copy(tmp_path), tmp_path, BOT_ANSWERER="openai-compatible",
                   BOT_LLM_BASE_URL=base_url, BOT_LLM_MODEL="m", BOT_LLM_RETRIES=0)
        ask(at, "What did Tillerson urge China and Russia to do?")
    (error,) = at.error
    assert f"Could not answer: the model server at {base_url} returned an invalid or empty response" in plain(error.value)
    assert not any(REFUSAL in answer_text(m) for m in assistant(at) if m.markdown)
