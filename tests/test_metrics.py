"""The eval metrics against a fixture computed by hand (numbers in the comments)."""

from __future__ import annotations

import pytest

from bot.metrics import (
    AliasMap, Outcome, answer_matches, compare, first_relevant_rank, percentile, summarize,
)


def fixture_outcomes() -> list[Outcome]:
    return [
        # A: first relevant at rank 2; cites the right article twice (counts once)
        Outcome(True, ["a"], ["b", "a", "c"], ["a", "a"], refused=False, matched=True, latency_ms=100),
        # B: rank 1; cites one right and one wrong article; wrong answer
        Outcome(True, ["c", "d"], ["c"], ["c", "b"], refused=False, matched=False, latency_ms=200),
        # C: the source is 11th (outside @10); refused, so wrong even though a pattern matched
        Outcome(True, ["e"], list("abcdfghijk") + ["e"], [], refused=True, matched=True, latency_ms=300),
        # D: no sources listed: not in retrieval or citation metrics, still in accuracy
        Outcome(True, [], ["a"], ["a"], refused=False, matched=True, latency_ms=400),
        # E, F: unanswerable, one refused
        Outcome(False, [], ["a"], [], refused=True, latency_ms=500),
        Outcome(False, [], ["a"], ["a"], refused=False, latency_ms=600),
        # G: nothing retrieved, answered without citations, no must_contain patterns
        Outcome(True, ["a"], [], [], refused=False, matched=None, latency_ms=700),
    ]


def test_summary_matches_hand_computed_values():
    s = summarize(fixture_outcomes())
    assert s["n_questions"] == 7
    assert s["n_answerable"] == 5
    assert s["n_retrieval"] == 4  # A, B, C, G
    assert s["hits_at_1"] == pytest.approx(1 / 4)  # B
    assert s["hits_at_5"] == pytest.approx(2 / 4)  # A, B
    assert s["hits_at_10"] == pytest.approx(2 / 4)  # C's source is 11th
    assert s["mrr_at_10"] == pytest.approx((1 / 2 + 1 + 0 + 0) / 4)
    assert s["accuracy"] == pytest.approx(2 / 4)  # A, D right; B wrong; C refused; G has no patterns
    assert s["citation_precision"] == pytest.approx((1.0 + 0.5) / 2)  # A 1/1, B 1/2, G cites nothing
    assert s["citation_recall"] == pytest.approx(2 / 3)  # A, B hit; G none
    assert s["refusal_rate"] == pytest.approx(1 / 2)  # E of E, F
    assert s["false_refusal_rate"] == pytest.approx(1 / 5)  # C
    assert s["latency_p50_ms"] == pytest.approx(400)
    assert s["latency_p95_ms"] == pytest.approx(670)  # 600 + 0.7 * 100


def test_all_refused():
    s = summarize([
        Outcome(True, ["a"], ["a"], [], refused=True, matched=False, latency_ms=10),
        Outcome(True, ["b"], ["a", "b"], [], refused=True, matched=True, latency_ms=20),
        Outcome(False, [], [], [], refused=True, latency_ms=30),
    ])
    assert s["accuracy"] == 0.0
    assert s["false_refusal_rate"] == 1.0
    assert s["refusal_rate"] == 1.0
    assert s["citation_precision"] is None and s["citation_recall"] is None  # nothing was answered
    assert s["hits_at_1"] == 0.5 and s["mrr_at_10"] == pytest.approx(0.75)  # retrieval still counts


def test_no_sources_and_no_questions():
    s = summarize([Outcome(True, [], ["a"], ["a"], matched=True)])
    assert s["hits_at_1"] is None and s["mrr_at_10"] is None
    assert s["citation_precision"] is None and s["refusal_rate"] is None
    assert s["accuracy"] == 1.0
    empty = summarize([])
    assert empty["n_questions"] == 0 and empty["accuracy"] is None and empty["latency_p50_ms"] is None


def test_ranks_count_distinct_articles():
    assert first_relevant_rank(["b", "b", "b", "a"], ["a"]) == 2
    assert first_relevant_rank([], ["a"]) is None
    assert first_relevant_rank(list("bcdefghijkl") + ["a"], ["a"]) is None


def test_source_aliases():
    aliases = AliasMap([
        ("voa-talks.txt", "voa-talks.txt", ""),
        ("sub/nz-report.md", "sub/nz-report.md", ""),
        ("5b14cd16b6fe", "5b14cd16b6fe", "https://example.com/story/"),
    ])
    assert aliases.resolve("voa-talks.txt") == "voa-talks.txt"
    assert aliases.resolve("voa-talks") == "voa-talks.txt"
    assert aliases.resolve("nz-report.md") == "sub/nz-report.md"
    assert aliases.resolve("nz-report") == "sub/nz-report.md"
    assert aliases.resolve("https://example.com/story") == "5b14cd16b6fe"
    assert aliases.resolve("https://example.com/story/") == "5b14cd16b6fe"
    assert aliases.resolve("no-such-article") is None
    assert aliases.canonical(["voa-talks", "voa-talks.txt", "unknown", "5b14cd16b6fe"]) == ["voa-talks.txt", "5b14cd16b6fe"]
    assert len(aliases) == 3


def test_must_contain_is_case_insensitive():
    assert answer_matches("Chrystia FREELAND said [1]", [r"freeland"])
    assert answer_matches("152110 people", [r"nothing", r"152,?110"])
    assert not answer_matches("Taro Kono", [r"freeland"])
    assert not answer_matches("anything", [])


def test_compare_with_baseline():
    now = {"accuracy": 0.70, "hits_at_1": 0.80, "false_refusal_rate": 0.25, "latency_p95_ms": 5000.0, "refusal_rate": None}
    old = {"accuracy": 0.72, "hits_at_1": 0.90, "false_refusal_rate": 0.20, "latency_p95_ms": 100.0, "refusal_rate": 0.5}
    rows = {d.metric: d for d in compare(now, old, tolerance=0.03)}
    assert rows["accuracy"].diff == pytest.approx(-0.02) and not rows["accuracy"].worse  # within tolerance
    assert rows["hits_at_1"].worse  # dropped 0.10
    assert rows["false_refusal_rate"].worse  # rose 0.05: lower is better
    assert not rows["latency_p95_ms"].worse  # latency is shown, never fails the check
    assert rows["refusal_rate"].diff is None and not rows["refusal_rate"].worse
    assert percentile([5.0], 95) == 5.0 and percentile([], 50) is None
