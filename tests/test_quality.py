"""Retrieval and answer quality: fusion by article, the one-character-token fix, dates, conflicts,
and regression guards on the seed questions (corpus/questions.jsonl, corpus/short-questions.jsonl)
at the level reached."""

from __future__ import annotations

import json
import re
from datetime import date
from types import SimpleNamespace

import pytest
from llama_index.core.schema import NodeWithScore, TextNode

from bot.config import PROJECT_DIR
from bot.conflicts import find_conflict, parse_day, recency
from bot.lexical import build_bm25
from bot.retrieve import make_fusion, rank_by_article
from conftest import VOA

# Levels reached (DECISIONS.md), one question of margin; a change that drops below them is a
# regression. corpus/questions.jsonl: 37/43 answered correctly, 8/12 unanswerable refused.
# corpus/short-questions.jsonl (short questions as users type them, not used for fitting): 10/16, 6/6.
LEVELS = {"questions.jsonl": (0.83, 0.58), "short-questions.jsonl": (0.56, 0.83)}


def _hit(doc: str, n: int, score: float, day: str = "") -> NodeWithScore:
    node = TextNode(id_=f"{doc}#{n}", text=f"chunk {n} of {doc}", metadata={"date": day})
    node.relationships = {}
    node.metadata["source"] = doc
    return NodeWithScore(node=node, score=score)


# --- fusion: chunks ranked by article
def test_article_with_several_matching_chunks_outranks_a_single_slightly_better_chunk():
    hits = [_hit("a", 0, 0.80), _hit("b", 0, 0.75), _hit("b", 1, 0.70), _hit("b", 2, 0.65)]
    ranked = rank_by_article(hits)
    assert [h.node.metadata["source"] for h in ranked][:3] == ["b", "b", "b"]
    assert ranked[-1].node.metadata["source"] == "a"


def test_rank_by_article_keeps_at_most_three_chunks_per_article_best_first():
    hits = [_hit("a", n, 1.0 - n / 10) for n in range(6)]
    ranked = rank_by_article(hits)
    assert [h.node.node_id for h in ranked] == ["a#0", "a#1", "a#2"]


def test_recency_breaks_a_tie_toward_the_article_nearest_the_question_date():
    hits = [_hit("old", 0, 0.9, "2015-06-16"), _hit("new", 0, 0.9, "2022-06-14")]
    ranked = rank_by_article(hits, as_of="2022-06-16", recency_weight=0.5, recency_days=30)
    assert ranked[0].node.metadata["source"] == "new"
    # off: the order of equal scores is not decided by dates
    assert {h.node.metadata["source"] for h in rank_by_article(hits)} == {"old", "new"}


def test_hybrid_retrieval_on_the_seed_store_is_a_query_fusion_of_dense_and_bm25(seed_store, embed_model):
    from llama_index.core.retrievers import QueryFusionRetriever

    settings, store = seed_store
    fusion = make_fusion(store, embed_model, settings, depth=10)
    assert isinstance(fusion, QueryFusionRetriever)
    hits = fusion.retrieve("152,110 people on 716 international flights")
    assert VOA in {h.node.metadata.get("source") for h in hits}  # the article holding those numbers
    assert len({h.node.node_id for h in hits}) == len(hits)  # dense and BM25 hits merged, not repeated


# --- the BM25 one-character-token fix
@pytest.mark.parametrize("retriever", ["hybrid", "bm25", "dense"])
def test_every_retriever_returns_enough_chunks_for_ten_articles(tmp_path, embed_model, retriever):
    # Hits@10 counts the first ten distinct articles: a retriever that handed back only top_k (8)
    # chunks gave bm25 and dense fewer articles to hit than hybrid.
    from conftest import make_settings

    from bot.ingest import ingest
    from bot.retrieve import Retriever, article_of
    from bot.store import open_store

    folder = tmp_path / "news"
    folder.mkdir()
    for n in range(14):
        (folder / f"harbour-{n}.txt").write_text(f"The harbour of Port Quillon reopened, report {n} says.\n", encoding="utf-8")
    settings = make_settings(tmp_path / "store", retriever=retriever)
    store = open_store(settings, embed_model, writable=True)
    ingest(store, [folder], embed_model)
    hits = Retriever(store, embed_model, settings).retrieve("When did the harbour of Port Quillon reopen?")
    assert len({article_of(h) for h in hits}) >= 10


def test_bm25_matches_one_character_tokens():
    nodes = [
        TextNode(id_="x", text="The team won the final by three goals."),
        TextNode(id_="y", text="Category 3 storm makes landfall, G7 leaders meet."),
        TextNode(id_="z", text="Markets closed higher on Friday."),
    ]
    retriever = build_bm25(nodes, top_k=3)
    top = retriever.retrieve("3")
    assert top and top[0].node.node_id == "y"


# --- dates
def test_parse_day_accepts_iso_and_slashes_and_rejects_garbage():
    assert parse_day("2022-06-16") == date(2022, 6, 16)
    assert parse_day("2022/06/16") == date(2022, 6, 16)
    assert parse_day("2022-06-16T10:00:00Z") == date(2022, 6, 16)
    assert parse_day("") is None and parse_day(None) is None and parse_day("June") is None
    assert parse_day("2022-02-30") is None


def test_recency_prefers_newer_articles_and_penalises_ones_after_the_question():
    as_of = "2022-06-16"
    assert recency("2022-06-16", as_of, 30) == 1.0
    assert recency("2022-06-10", as_of, 30) > recency("2022-04-01", as_of, 30) > recency("2015-06-16", as_of, 30)
    assert recency("2022-06-22", as_of, 30) < recency("2022-06-10", as_of, 30)  # 6 days after < 6 before
    assert recency("", as_of, 30) == 0.0


# --- conflicts
def _sentence(doc: str, text: str, score: float, day: str = ""):
    return SimpleNamespace(text=text, score=score, passage=SimpleNamespace(doc_id=doc, metadata={"date": day}))


def test_conflict_detector_flags_two_sources_with_different_numbers():
    q = "How many people were killed in the earthquake?"
    found = find_conflict(q, "number", [
        _sentence("a", "The earthquake killed 1,000 people, officials said.", 0.90),
        _sentence("b", "At least 1,150 people were killed in the quake.", 0.88),
    ], min_score=0.8)
    assert found is not None
    assert [v for v, _ in found.items] == ["1000", "1150"]


def test_no_conflict_when_sources_agree_or_the_other_is_far_weaker():
    q = "How many people were killed in the earthquake?"
    agree = [_sentence("a", "The quake killed 1,000 people.", 0.9), _sentence("b", "1000 people died.", 0.88)]
    assert find_conflict(q, "number", agree, min_score=0.8) is None
    weak = [_sentence("a", "The quake killed 1,000 people.", 0.9), _sentence("b", "It had 3 aftershocks.", 0.5)]
    assert find_conflict(q, "number", weak, min_score=0.8) is None
    same_doc = [_sentence("a", "The quake killed 1,000 people.", 0.9), _sentence("a", "Later 1,150 died.", 0.89)]
    assert find_conflict(q, "number", same_doc, min_score=0.8) is None


def test_a_price_and_a_change_in_cents_are_not_a_conflict_but_two_prices_are():
    q = "How much is gas?"
    price = _sentence("june", "The $4.47 a gallon average price in Georgia is the cheapest.", 0.6)
    change = _sentence("march", "The national average jumped nearly 7 cents Thursday morning.", 0.7)
    assert find_conflict(q, "number", [change, price], min_score=0.23) is None
    other_price = _sentence("march", "The national average for regular gas is $4.98 a gallon.", 0.7)
    found = find_conflict(q, "number", [other_price, price], min_score=0.23)
    assert found is not None and [v for v, _ in found.items] == ["4.98", "4.47"]


def test_counts_of_different_things_or_a_percent_and_a_count_are_not_a_conflict():
    q = "How many people were killed in the earthquake?"
    people = _sentence("a", "The earthquake killed 1,000 people, officials said.", 0.9)
    for text in ("The quake was followed by 12 aftershocks.", "About 30% of the buildings collapsed."):
        assert find_conflict(q, "number", [people, _sentence("b", text, 0.88)], min_score=0.8) is None


def test_a_value_tied_to_another_year_is_not_a_rival_to_the_current_one():
    q = "On average nationwide, how much does a gallon of regular gas cost?"
    now = _sentence("a", "For the first time ever, the average gas price across the U.S. is $5 a gallon.", 0.4, "2022-06-11")
    record = _sentence("b", "The record national average had been $4.11, set in July 2008.", 0.3, "2022-06-11")
    assert find_conflict(q, "number", [now, record], min_score=0.23) is None
    # The question's own year makes it the asked fact again.
    found = find_conflict("How much did gas cost in 2008?", "number", [now, record], min_score=0.23)
    assert found is not None and [v for v, _ in found.items] == ["5", "4.11"]


def test_an_article_that_also_states_the_other_value_agrees_with_it():
    q = "Netflix says it lost how many subscribers in the three months ending June 30?"
    forecast = _sentence("a", "It then predicted a loss of 2 million subscribers in the three months ending June 30.", 0.71)
    both = _sentence("a", "The streamer lost 970,000 subscribers, ahead of its prediction of losing 2 million.", 0.82)
    actual = _sentence("b", "Between April and June, the company lost 970,000 subscribers.", 0.6)
    assert find_conflict(q, "number", [forecast, both, actual], min_score=0.23) is None


def test_a_rival_value_from_a_far_weaker_sentence_is_not_a_conflict():
    q = "How much has the Biden administration approved in security assistance for Ukraine?"
    lead = _sentence("a", "The Biden administration has approved more than $6 billion in security assistance.", 0.77)
    aside = _sentence("b", "The Obama administration announced $46 million in security assistance to Ukraine.", 0.24)
    assert find_conflict(q, "number", [lead, aside], min_score=0.23) is None
    rival = _sentence("b", "The administration has approved $5 billion in security assistance so far.", 0.6)
    assert find_conflict(q, "number", [lead, rival], min_score=0.23) is not None


# --- regression guards on the seed questions
def _questions(name: str):
    path = PROJECT_DIR / "corpus" / name
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("name", sorted(LEVELS))
def test_seed_questions_accuracy_and_refusals_hold_their_level(qa, name):
    answerable = correct = unanswerable = refused = 0
    for q in _questions(name):
        history = [tuple(turn) for turn in q.get("history", [])]
        answer = qa.answer(q["question"], history)
        if q["answerable"]:
            answerable += 1
            correct += (not answer.refused) and any(re.search(p, answer.text, re.I) for p in q["must_contain"])
        else:
            unanswerable += 1
            refused += answer.refused
    min_accuracy, min_refusal = LEVELS[name]
    assert correct / answerable >= min_accuracy, f"accuracy {correct}/{answerable}"
    assert refused / unanswerable >= min_refusal, f"refused {refused}/{unanswerable}"


def test_seed_tillerson_answer_and_world_cup_refusal(qa):
    answer = qa.answer("What did Tillerson urge China and Russia to do?")
    assert not answer.refused
    assert "sanctions" in answer.text
    assert answer.citations[0].source == VOA
    assert qa.answer("Who won the 2018 World Cup?").refused
