"""Browser chat: `streamlit run bot/app.py` (or `bot ui`). Streamed, cited answers over the store.

The same answer path as the CLI (bot.answer.QA); models, store and QA are cached per process with
st.cache_resource, the conversation lives in st.session_state (one per browser session).
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run bot/app.py` puts bot/ itself first on sys.path, where bot/config.py etc. could shadow
# other top-level modules: that entry becomes the project folder, and bot/ goes to the end, where it
# shadows nothing. Only in-place edits and appends: other sessions' threads import while this script
# runs, and an insert or removal shifts sys.path under an import in progress, which then skips a folder
# (seen: "No module named '_strptime'", then a half-imported pandas for good). Streamlit adds the folder
# for a run, and takes it away after, only when it is missing; it is appended twice because a runner
# that added it (AppTest) takes one copy away, and with one left it never edits sys.path again.
_HERE = Path(__file__).resolve().parent
if sys.path and sys.path[0] and Path(sys.path[0]).resolve() == _HERE:
    sys.path.extend([sys.path[0]] * 2)
    sys.path[0] = str(_HERE.parent)

import logging  # noqa: E402
import re  # noqa: E402
import threading  # noqa: E402
import uuid  # noqa: E402
from datetime import datetime, timezone  # noqa: E402

import streamlit as st  # noqa: E402
from pydantic import ValidationError  # noqa: E402

from bot.answer_types import Answer, Citation, QuestionError  # noqa: E402
from bot.app_feedback import append_feedback, feedback_path, feedback_record  # noqa: E402
from bot.app_render import STYLE, article_page, citation_html, escape_markdown, example_questions  # noqa: E402
from bot.config import Settings, describe_settings_error  # noqa: E402

log = logging.getLogger("bot.app")
UPLOAD_TYPES = ["txt", "md", "html", "jsonl"]
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


# --- cached resources (one per process, shared by all sessions)
def load_settings() -> Settings:
    return Settings()  # read each run, so BOT_* changes (and tests) take effect without a restart


def _key(settings: Settings) -> str:
    return settings.model_dump_json()


@st.cache_resource(show_spinner="Loading the embedding model…")
def get_embed_model(key: str, _settings: Settings):
    from bot.models import make_embed_model

    return make_embed_model(_settings)


@st.cache_resource(show_spinner="Opening the index…")
def get_qa(key: str, _settings: Settings):
    from bot.answer import QA

    return QA(_settings, embed_model=get_embed_model(key, _settings))


@st.cache_resource
def ingest_lock() -> threading.Lock:
    return threading.Lock()


@st.cache_data(show_spinner=False, max_entries=8)
def working_examples(key: str, last_ingest: str, _settings: Settings, _qa) -> list[str]:
    """Example questions from the corpus's questions.jsonl that the bot answers (checked once per ingest)."""
    known = set(_qa.store.docstore.get_all_document_hashes().values())
    candidates = example_questions(_settings.corpus, known, limit=6)
    if _settings.answerer != "extractive":  # checking would cost generator calls: trust the list
        return candidates[:3]
    good = []
    for question in candidates:
        try:
            if not _qa.answer(question).refused:
                good.append(question)
        except Exception:  # an example that fails is simply not offered
            continue
        if len(good) == 3:
            break
    return good


# --- errors the user can act on
def describe_error(err: Exception) -> str:
    from bot.models import ModelConfigError
    from bot.store import StoreError

    if isinstance(err, (QuestionError, StoreError, ModelConfigError)) or type(err).__module__.startswith("bot."):
        return str(err)  # the project's own errors are written to be read by a user
    text = str(err).strip() or type(err).__name__
    low = f"{type(err).__name__} {text}".lower()
    if "locked" in low:
        return f"the index is busy (another process is writing to it): try again in a moment ({text})"
    if any(w in low for w in ("connect", "timeout", "timed out", "unreachable", "refused")):
        return f"the model server did not answer ({text}); check that it is running, then ask again"
    return f"something went wrong ({type(err).__name__}: {text}); the chat still works, try again"


# --- session state
def state():
    ss = st.session_state
    ss.setdefault("messages", [])
    ss.setdefault("uploader_n", 0)
    ss.setdefault("notices", [])
    return ss


def new_chat() -> None:
    st.session_state.messages = []


def ask(question: str) -> None:
    st.session_state.pending = question


def history() -> list[tuple[str, str]]:
    """(question, answer) per answered turn, as `bot chat` builds it: a refusal contributes no text."""
    return [(m["answer"].question, "" if m["answer"].refused else m["answer"].text)
            for m in st.session_state.messages if m.get("answer")]


def find_message(msg_id: str) -> dict | None:
    return next((m for m in st.session_state.messages if m.get("id") == msg_id), None)


def on_feedback(msg_id: str, path: Path) -> None:
    msg = find_message(msg_id)
    rating = st.session_state.get(f"feedback-{msg_id}")
    if msg is None or rating is None:
        return
    try:
        append_feedback(path, feedback_record(rating, msg["answer"], msg["settings"]))
        msg["rated"] = rating
    except OSError as err:
        st.session_state.notices.append(("error", f"could not save the feedback to {path}: {err.strerror or err}"))


# --- rendering
def article_text(qa, citation: Citation) -> str | None:
    doc = qa.store.article(citation.doc_id) if citation.doc_id else None
    return doc.text if doc is not None else None


@st.dialog("Article", width="large")
def show_article(qa, citation: Citation) -> None:
    text = article_text(qa, citation)
    if text is None:
        st.warning("This article is no longer in the index (it was removed or re-ingested).")
        return
    meta = " · ".join(p for p in (citation.date or "no date", citation.source) if p)
    st.caption("The cited sentence is highlighted.")
    # st.iframe runs the page's own scroll script; the article inside is escaped and CSP-locked.
    st.iframe(article_page(citation.title or citation.source, meta, text, citation.start, citation.end),
              height=520, alt="The whole article with the cited sentence highlighted")


def render_sources(qa, msg: dict) -> None:
    answer: Answer = msg["answer"]
    if answer.refused:
        if not answer.closest:
            return
        with st.expander("Closest passages — these do not answer the question", expanded=True):
            for c in answer.closest:
                render_citation(qa, msg, c, closest=True)
        return
    if answer.citations:
        label = f"Sources ({len(answer.citations)})"
        with st.expander(label, expanded=True):
            for c in answer.citations:
                render_citation(qa, msg, c)


def render_citation(qa, msg: dict, c: Citation, closest: bool = False) -> None:
    st.html(citation_html(c, article_text(qa, c), closest=closest))
    kind = "closest" if closest else "cite"
    if st.button("Open the article at this sentence", key=f"open-{msg['id']}-{kind}-{c.n}",
                 icon=":material/article:", type="tertiary"):
        show_article(qa, c)


def render_notes(answer: Answer) -> None:
    """What the answerer dropped or fixed (a generator's unsupported sentences), as `bot ask` prints."""
    for note in answer.notes:
        st.caption(f"Note: {escape_markdown(note)}")


def render_footer(qa, msg: dict, log_path: Path) -> None:
    answer: Answer = msg["answer"]
    seconds = answer.timings.get("total_ms", 0) / 1000
    st.caption(f"{answer.answerer} answerer · {seconds:.1f} s")
    st.feedback("thumbs", key=f"feedback-{msg['id']}", on_change=on_feedback, args=(msg["id"], log_path))


def render_user(question: str) -> None:
    with st.chat_message("user"):
        # A blank question would leave an empty bubble next to its error.
        st.markdown(escape_markdown(question) if question.strip() else "*(an empty question)*")


def render_message(qa, msg: dict, log_path: Path) -> None:
    if msg["role"] == "user":
        render_user(msg["content"])
        return
    with st.chat_message("assistant"):
        if msg.get("error"):
            st.error(escape_markdown(msg["error"]))
            return
        answer: Answer = msg["answer"]
        st.markdown(escape_markdown(answer.text))
        render_notes(answer)
        render_sources(qa, msg)
        render_footer(qa, msg, log_path)


def answer_question(qa, question: str, top_k: int, strictness: float, log_path: Path) -> None:
    ss = st.session_state
    past = history()
    ss.messages.append({"role": "user", "content": question})
    render_user(question)
    msg = {"role": "assistant", "id": uuid.uuid4().hex[:12],
           "settings": {"top_k": top_k, "strictness": strictness, "answerer": qa.settings.answerer,
                        "embed_model": qa.embed_model.model_name, "retriever": qa.settings.retriever,
                        "store": str(qa.settings.store), "history_turns": len(past)}}
    with st.chat_message("assistant"):
        result: dict = {}

        def pieces():
            for item in qa.stream(question, past, top_k=top_k, strictness=strictness):
                if isinstance(item, Answer):
                    result["answer"] = item
                else:
                    yield escape_markdown(item)

        try:
            st.write_stream(pieces)
        except Exception as err:  # any failure becomes a message; the chat stays usable
            if not isinstance(err, QuestionError):
                log.exception("answering failed")
            msg["error"] = f"Could not answer: {describe_error(err)}"
            st.error(escape_markdown(msg["error"]))
            ss.messages.append(msg)
            return
        msg["answer"] = result["answer"]
        ss.messages.append(msg)
        render_notes(msg["answer"])
        render_sources(qa, msg)
        render_footer(qa, msg, log_path)


# --- ingest (bundled corpus, uploads)
def run_ingest_with_progress(settings: Settings, label: str, paths: list[Path] | None = None):
    """Ingest `paths` (default: the corpus folder) into the store, with a progress bar."""
    from bot.cli import run_ingest

    bar = st.progress(0.0, text=label)

    def progress(done: int, total: int) -> None:
        bar.progress(done / total if total else 1.0, text=f"{label} {done}/{total} articles")

    with ingest_lock():
        report = run_ingest(settings, paths or [settings.corpus], progress=progress)
    bar.empty()
    get_qa.clear()
    working_examples.clear()
    return report


def ingest_bundled(settings: Settings) -> None:
    try:
        report = run_ingest_with_progress(settings, "Ingesting the corpus:")
    except Exception as err:
        log.exception("ingest failed")
        st.session_state.notices.append(("error", f"Ingest failed: {describe_error(err)}"))
        return
    st.session_state.notices.append(("success", f"Ingested {settings.corpus}: {report.summary()}."))
    for problem in report.problems:
        st.session_state.notices.append(("warning", problem))


def save_upload(corpus: Path, name: str, data: bytes) -> Path:
    """Save an uploaded file in the corpus folder under a safe name; never overwrite a different file."""
    base = Path(name).name
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    stem = _SAFE_NAME.sub("-", stem).strip("-.") or "upload"
    corpus.mkdir(parents=True, exist_ok=True)
    target = corpus / f"{stem}{suffix}"
    n = 2
    while target.exists() and target.read_bytes() != data:
        target = corpus / f"{stem}-{n}{suffix}"
        n += 1
    target.write_bytes(data)
    return target


def add_uploads(settings: Settings, files) -> None:
    notices = st.session_state.notices
    cap = settings.max_upload_mb * 1_000_000
    saved = []
    for f in files:
        suffix = Path(f.name).suffix.lower().lstrip(".")
        if suffix not in UPLOAD_TYPES:
            notices.append(("error", f"{f.name}: not an article type (use {', '.join('.' + t for t in UPLOAD_TYPES)})"))
            continue
        if f.size > cap:
            notices.append(("error", f"{f.name}: {f.size / 1e6:.1f} MB is over the {settings.max_upload_mb} MB "
                                     "upload limit (BOT_MAX_UPLOAD_MB)"))
            continue
        try:
            saved.append(save_upload(Path(settings.corpus), f.name, f.getvalue()))
        except OSError as err:
            notices.append(("error", f"{f.name}: could not save it in {settings.corpus}: {err.strerror or err}"))
    if not saved:
        return
    try:
        # Only the uploaded files: the store may hold other articles than the corpus folder's
        # (`bot ui --store DIR`), and the folder's other files would be mixed into it.
        report = run_ingest_with_progress(settings, "Ingesting:", saved)
    except Exception as err:
        log.exception("ingest failed")
        notices.append(("error", f"Saved {', '.join(p.name for p in saved)} but the ingest failed: "
                                 f"{describe_error(err)}"))
        return
    # A file the ingest skipped whole (binary, empty, not UTF-8) is not left in the corpus folder.
    skipped = {p: f"{p.resolve()}: skipped" for p in saved}
    removed = [p for p in saved if any(problem.startswith(skipped[p]) for problem in report.problems)]
    for path in removed:
        path.unlink(missing_ok=True)
    kept = [p for p in saved if p not in removed]
    if kept:
        names = ", ".join(p.name for p in kept)
        notices.append(("success", f"Added {names} to {settings.corpus}. Ingest: {report.summary()}."))
    gone = tuple(skipped[p] for p in removed)
    for problem in report.problems:
        notices.append(("warning", f"{problem} (not kept in the corpus folder)" if problem.startswith(gone) else problem))


# --- page
def format_time(iso: str | None) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    except (TypeError, ValueError):
        return "unknown"


def sidebar(settings: Settings, qa, store_error: str | None) -> tuple[int, float]:
    with st.sidebar:
        st.button("New chat", icon=":material/add_comment:", on_click=new_chat, width="stretch",
                  key="new-chat")
        st.subheader("Corpus")
        if qa is not None:
            info = qa.store.read_info()
            c1, c2 = st.columns(2)
            c1.metric("Articles", f"{qa.store.article_count():,}")
            c2.metric("Chunks", f"{qa.store.chunk_count():,}")
            st.caption(f"Last ingest: {format_time(info.get('last_ingest'))}")
        else:
            st.caption(store_error or "No index yet.")
        st.caption(f"Store: {escape_markdown(str(settings.store))}")

        st.subheader("Models")
        answerer = settings.answerer
        if answerer in ("openai", "openai-compatible"):
            answerer += f" ({settings.llm_model})"
        elif answerer == "gguf":
            answerer += f" ({Path(settings.gguf_path).name if settings.gguf_path else 'Gemma 3 270M'})"
        embed_name = qa.embed_model.model_name if qa is not None else settings.embed
        st.markdown(f"Answerer: **{escape_markdown(answerer)}**  \nEmbeddings: **{escape_markdown(embed_name)}**")

        st.subheader("Retrieval")
        top_k = st.slider("Passages to answer from (top-k)", 1, max(20, settings.top_k), settings.top_k,
                          key="top_k", help="How many retrieved passages the answer may draw on.")
        strictness = st.slider("Refusal strictness", 0.5, 1.5, 1.0, 0.05, key="strictness",
                               help="Multiplies the evidence bars: higher refuses more readily, lower "
                                    "answers from weaker matches.")

        st.subheader("Add articles")
        files = st.file_uploader(
            "Add articles", type=UPLOAD_TYPES, accept_multiple_files=True,
            key=f"uploader-{st.session_state.uploader_n}", max_upload_size=settings.max_upload_mb,
            label_visibility="collapsed",
            help=f".txt, .md, .html or .jsonl, up to {settings.max_upload_mb} MB each; saved in "
                 f"{settings.corpus} and ingested.",
        )
        if files:
            add_uploads(settings, files)
            st.session_state.uploader_n += 1  # a fresh, empty uploader
            st.rerun()
        st.caption(f"Files are saved in {escape_markdown(str(settings.corpus))} and ingested.")
    return top_k, strictness


def main() -> None:
    st.set_page_config(page_title="News Q&A", page_icon=":material/newspaper:", layout="centered")
    st.html(STYLE)
    ss = state()
    try:
        settings = load_settings()
    except ValidationError as err:  # a BOT_* value that is not valid: the same one line as the CLI's
        st.error(f"Cannot start: {escape_markdown(describe_settings_error(err))}")
        return
    key = _key(settings)
    log_path = feedback_path(settings)

    st.title("News Q&A")
    st.caption("Answers quote the articles, with the source of every sentence. "
               "If the articles don't say, the bot says so.")
    qa, store_error, empty = None, None, False
    try:
        qa = get_qa(key, settings)
        empty = qa.store.article_count() == 0
    except Exception as err:
        from bot.store import StoreError

        no_index = isinstance(err, StoreError) and "run `bot ingest` first" in str(err)
        empty = no_index
        store_error = None if no_index else describe_error(err)
        if not no_index:
            log.exception("opening the index failed")

    top_k, strictness = sidebar(settings, qa, store_error)

    for kind, text in ss.notices:
        getattr(st, kind)(escape_markdown(text))  # file names and paths are shown as typed
    ss.notices = []

    if empty:
        st.info(f"The index is empty. Ingest the articles in {escape_markdown(str(settings.corpus))} to start.")
        if st.button("Ingest the bundled corpus", type="primary", icon=":material/download:", key="ingest-bundled"):
            ingest_bundled(settings)
            st.rerun()
        st.chat_input("Ask about the articles", disabled=True)
        return
    if qa is None:
        st.error(f"The index cannot be opened: {escape_markdown(store_error)}")
        st.chat_input("Ask about the articles", key="chat", disabled=True)
        if st.button("Try again", key="retry"):
            get_qa.clear()
            st.rerun()
        return

    for msg in ss.messages:
        render_message(qa, msg, log_path)

    typed = st.chat_input("Ask about the articles", key="chat")
    question = typed or ss.pop("pending", None)
    if question:
        answer_question(qa, question, top_k, strictness, log_path)
    elif not ss.messages:
        info = qa.store.read_info()
        examples = working_examples(key, str(info.get("last_ingest", "")), settings, qa)
        if examples:
            st.markdown("**Try one of these:**")
            for i, q in enumerate(examples):
                st.button(escape_markdown(q), key=f"example-{i}", on_click=ask, args=(q,))


main()
