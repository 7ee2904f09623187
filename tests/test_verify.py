"""The citation verifier on generated answers, good and bad, against passages cut from the seed articles."""

from __future__ import annotations

import re

import pytest
from conftest import CORPUS, NZ, VOA

from bot.evidence import Passage
from bot.verify import Verifier


def article_text(source: str) -> str:
    with open(CORPUS / source, encoding="utf-8", newline="") as fh:
        return fh.read()


def paragraph_passage(rank: int, source: str, needle: str) -> Passage:
    """The paragraph of `source` that holds `needle`, with its real offset in the article."""
    text = article_text(source)
    at = text.index(needle)
    start = text.rfind("\n\n", 0, at)
    start = 0 if start < 0 else start + 2
    end = text.find("\n\n", at)
    end = len(text) if end < 0 else end
    return Passage(rank=rank, doc_id=source, text=text[start:end], start=start, score=0.5,
                   metadata={"source": source, "title": source, "date": ""})


@pytest.fixture(scope="module")
def passages():
    return [
        paragraph_passage(1, VOA, "The top U.S. diplomat urged China and Russia"),
        paragraph_passage(2, VOA, "Canadian Foreign Minister Chrystia Freeland told"),
        paragraph_passage(3, NZ, "Foreign Affairs Minister Winston Peters left for Canada"),
        paragraph_passage(4, VOA, "President Xi Jinping told Trump"),
    ]


@pytest.fixture(scope="module")
def verifier(embed_model):
    return Verifier(embed_model)


URGE = "The top U.S. diplomat urged China and Russia to fully implement United Nations sanctions against North Korea"
IMPROVE = "Freeland said nations must improve the effectiveness of existing sanctions"
PETERS = "Winston Peters left for Canada on Monday to attend the meetings on North Korea"
XI = "Xi Jinping told Trump in a phone call there must be efforts to maintain that momentum"


def markers(text: str) -> list[int]:
    return [int(m) for m in re.findall(r"\[(\d+)\]", text)]


def assert_quotes_match_articles(verified) -> None:
    for n, c in enumerate(verified.citations, start=1):
        assert c.n == n
        assert c.quote == article_text(c.source)[c.start : c.end]


def test_good_answer_keeps_every_sentence(verifier, passages):
    verified = verifier.verify(f"{URGE} [1]. {IMPROVE} [2].", passages)
    assert verified.dropped == [] and verified.fixed == []
    assert URGE in verified.text and IMPROVE in verified.text
    assert markers(verified.text) == [1, 2]
    assert [c.source for c in verified.citations] == [VOA, VOA]
    assert "urged China and Russia" in verified.citations[0].quote
    assert "Freeland" in verified.citations[1].quote
    assert_quotes_match_articles(verified)


def test_markers_after_the_full_stop_stay_with_their_sentence(verifier, passages):
    # The extractive answerer's own style: "Sentence. [1] Next sentence. [2]"
    verified = verifier.verify(f"{URGE}. [1] {IMPROVE}. [2]", passages)
    assert verified.dropped == [] and verified.fixed == []
    assert markers(verified.text) == [1, 2]
    assert "urged China and Russia" in verified.citations[0].quote
    assert "Freeland" in verified.citations[1].quote


def test_invented_sentence_is_dropped(verifier, passages):
    verified = verifier.verify(f"{URGE} [1]. Sydney is the capital of Australia [1].", passages)
    assert "Sydney" not in verified.text
    assert any("Sydney" in d for d in verified.dropped)
    assert URGE in verified.text and len(verified.citations) == 1


def test_a_sentence_that_changes_the_facts_of_its_source_is_dropped(verifier, passages):
    # Worded like the passage, so word overlap and meaning both pass; but the names and numbers differ.
    other_names = "The top U.S. diplomat urged Japan and India to fully implement United Nations sanctions against North Korea"
    verified = verifier.verify(f"{other_names} [1]. {IMPROVE} [2].", passages)
    assert "Japan" not in verified.text and any("Japan" in d for d in verified.dropped)
    assert IMPROVE in verified.text
    twenty = paragraph_passage(1, VOA, "Foreign ministers from 20 nations meeting in Vancouver")
    wrong_count = "Foreign ministers from 35 nations meeting in Vancouver say sanctions pressure must continue"
    verified = verifier.verify(f"{wrong_count} [1].", [twenty])
    assert verified.text == "" and verified.dropped == [wrong_count + "."]
    right_count = wrong_count.replace("35", "20")
    assert verifier.verify(f"{right_count} [1].", [twenty]).dropped == []


def test_out_of_range_marker_is_removed_and_the_sentence_attached(verifier, passages):
    verified = verifier.verify(f"{URGE} [9].", passages)
    assert "[9]" not in verified.text and markers(verified.text) == [1]
    assert any("9" in f for f in verified.fixed)
    assert "urged China and Russia" in verified.citations[0].quote
    assert_quotes_match_articles(verified)


def test_missing_marker_is_attached_to_the_best_passage(verifier, passages):
    verified = verifier.verify(f"{PETERS}.", passages)
    assert markers(verified.text) == [1]
    assert verified.citations[0].source == NZ and "Winston Peters" in verified.citations[0].quote
    assert verified.fixed
    assert_quotes_match_articles(verified)


def test_sentence_citing_the_wrong_passage_is_reattached_or_dropped(verifier, passages):
    verified = verifier.verify(f"{XI} [1]. Freeland said Canada will send troops to Korea [2].", passages)
    assert markers(verified.text) == [1]
    assert "Xi Jinping" in verified.citations[0].quote  # moved from passage 1 to passage 4
    assert "troops" not in verified.text and any("troops" in d for d in verified.dropped)
    assert_quotes_match_articles(verified)


def test_only_cited_passages_are_listed_and_renumbered(verifier, passages):
    verified = verifier.verify(f"{PETERS} [3]. {XI} [4].", passages)
    assert markers(verified.text) == [1, 2]
    assert [c.n for c in verified.citations] == [1, 2]
    assert verified.citations[0].source == NZ and "Peters" in verified.citations[0].quote
    assert "Xi Jinping" in verified.citations[1].quote
    assert_quotes_match_articles(verified)


def test_nothing_supported_leaves_nothing(verifier, passages):
    verified = verifier.verify("Sydney is the capital of Australia [1]. The Eiffel Tower is in Paris.", passages)
    assert verified.text == "" and verified.citations == []
    assert len(verified.dropped) == 2


def test_works_on_retrieved_passages(verifier, qa):
    """Passages built by bot.evidence.passages_from from real retrieved nodes."""
    from bot.evidence import passages_from

    nodes = qa.retriever.retrieve("What did Tillerson urge China and Russia to do?")[:5]
    retrieved = passages_from(nodes)
    verified = verifier.verify(f"{URGE} [1]. Sydney is the capital of Australia [2].", retrieved)
    assert URGE in verified.text and "Sydney" not in verified.text
    assert verified.citations[0].source == VOA
    assert_quotes_match_articles(verified)


# --------------------------------------------------------------------------- what a generated answer shows
def stream_through(verifier, passages, reply: str):
    """A model reply fed to the streaming verifier as the generator does; (stream, text shown)."""
    from bot.generate import VerifiedStream
    from bot.prompts import load_prompt

    stream = VerifiedStream(verifier, passages, load_prompt("refusal"))
    shown = stream.feed(reply) + stream.finish()
    return stream, "".join(shown)


def test_a_repeated_sentence_is_shown_once(verifier, passages):
    # Small models loop: the same sentence three times, once with an extra stop word ("the").
    near = URGE.replace("implement United", "implement the United")
    stream, shown = stream_through(verifier, passages, f"{URGE} [1]. {URGE} [1]. {near} [1]. {IMPROVE} [2].")
    assert shown.count("urged China and Russia") == 1
    assert IMPROVE in shown and len(stream.shown) == 2
    assert markers(shown) == [1, 2]


def test_a_repeated_sentence_in_one_answer_is_kept_once(verifier, passages):
    verified = verifier.verify(f"{URGE} [1]. {URGE} [1]. {IMPROVE} [2].", passages)
    assert verified.text.count("urged China and Russia") == 1 and IMPROVE in verified.text


def test_attached_citation_note_names_the_article_not_a_passage_number(verifier, passages):
    # PETERS is in passage 3 but is the first (and only) citation the user sees: [1].
    stream, shown = stream_through(verifier, passages, f"{PETERS}.")
    assert markers(shown) == [1] and stream.citations[0].source == NZ
    (note,) = stream.fixed
    assert NZ in note and "passage 3" not in note


def test_a_bare_number_is_checked_as_the_answer_to_the_question(verifier):
    # A small model answered "How many hot dogs did Joey Chestnut eat?" with "10 [1]." citing a
    # passage that only had "a 9 or 10 out of 10" in it; any 10 "supported" it.
    twenty = [paragraph_passage(1, VOA, "Foreign ministers from 20 nations")]
    kept = verifier.verify("20 [1].", twenty, question="How many nations met in Vancouver?")
    assert kept.text == "20. [1]" and kept.citations[0].quote.startswith("Foreign ministers from 20 nations")
    dropped = verifier.verify("20 [1].", twenty, question="How many hot dogs did Joey Chestnut eat?")
    assert dropped.text == "" and dropped.dropped == ["20."]
    # Nor by a 10 that counts something else.
    text = "Joey Chestnut devoured 63 hot dogs and buns in 10 minutes on Monday."
    contest = [Passage(rank=1, doc_id="contest", text=text, start=0, score=0.5, metadata={"source": "contest"})]
    question = "How many hot dogs did Joey Chestnut eat?"
    assert verifier.verify("10 [1].", contest, question=question).text == ""
    assert verifier.verify("63 [1].", contest, question=question).text == "63. [1]"


def test_the_prompts_labels_and_rules_echoed_by_a_small_model_are_not_shown(verifier, passages):
    from bot.generate import VerifiedStream
    from bot.prompts import load_prompt

    question = "What did Tillerson urge China and Russia to do?"
    prompt = load_prompt("qa_with_citations").format(refusal=load_prompt("refusal"), context="", question=question)
    stream = VerifiedStream(verifier, passages, load_prompt("refusal"), question, prompt)
    reply = f"You answer questions about news articles using ONLY the numbered passages below. Passages: {URGE} [1]."
    shown = "".join(stream.feed(reply) + stream.finish())
    # It showed "Passages: The top U.S. diplomat..." and noted the echoed rule as a dropped claim.
    assert shown.startswith("The top U.S. diplomat urged") and stream.dropped == []


def test_a_supported_sentence_about_something_else_is_not_shown(verifier):
    # A small model quoted a monkeypox passage, word for word, in its answer about a hot-dog contest.
    texts = ["Joey Chestnut devoured 63 hot dogs and buns in 10 minutes on Monday.",
             "The WHO said monkeypox cases have risen in 50 countries."]
    both = [Passage(rank=n, doc_id=f"d{n}", text=t, start=0, score=0.5, metadata={"source": f"d{n}"})
            for n, t in enumerate(texts, start=1)]
    reply = f"{texts[0][:-1]} [1]. {texts[1][:-1]} [2]."
    verified = verifier.verify(reply, both, question="How many hot dogs did Joey Chestnut eat?")
    assert "63 hot dogs" in verified.text and "monkeypox" not in verified.text
    assert verified.off_question == [texts[1][:-1] + "."] and [c.source for c in verified.citations] == ["d1"]
    # Without a question (or with one it answers) both are kept.
    assert "monkeypox" in verifier.verify(reply, both).text
