"""The numbers `bot eval` reports, as pure functions over per-question outcomes.

Written here (not LlamaIndex's HitRate/MRR) because these are article-level with source aliases, and
must return a defined value for edge cases (nothing retrieved, no sources, everything refused).

Definitions (all rates are fractions in [0, 1]; a metric with an empty denominator is None):
- Retrieval (Hits@1/5/10, MRR@10): over answerable questions with at least one known source. The
  retrieved list is the distinct articles of the top-10 chunks, in rank order; Hits@k is 1 when one of
  the first k articles is a listed source; MRR@10 is 1/rank of the first such article (0 if none).
- accuracy: over answerable questions that have `must_contain` patterns: the answer is not a refusal
  and at least one pattern matches it (case-insensitive regex search).
- citation_precision: over answered (not refused) answerable questions with known sources that cite
  at least one article: the share of distinct cited articles that are listed sources, averaged over
  questions. Duplicate citations of one article count once.
- citation_recall: over answered answerable questions with known sources: the share where at least
  one cited article is a listed source (an answer with no citation counts as a miss).
- refusal_rate: refused share of unanswerable questions (higher is better).
- false_refusal_rate: refused share of answerable questions (lower is better).
- latency_p50_ms / latency_p95_ms: over all evaluated questions (linear interpolation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Iterable, Sequence

DEPTH = 10
HIGHER_IS_BETTER = (
    "hits_at_1", "hits_at_5", "hits_at_10", "mrr_at_10", "accuracy", "citation_precision",
    "citation_recall", "refusal_rate", "judge_pass_rate",
)
LOWER_IS_BETTER = ("false_refusal_rate",)
LATENCY = ("latency_p50_ms", "latency_p95_ms")
COMPARED = HIGHER_IS_BETTER + LOWER_IS_BETTER + LATENCY


def article_aliases(doc_id: str, source: str = "", url: str = "") -> set[str]:
    """Every string a question file may use for this article: id, file name with/without extension, url."""
    names = {doc_id, source}
    for name in (doc_id, source):
        if not name:
            continue
        path = PurePosixPath(name)
        names.update({path.name, path.stem, str(path.with_suffix("")) if path.suffix else name})
    if url:
        names.update({url, url.rstrip("/")})
    return {n for n in names if n}


class AliasMap:
    """Maps any alias of a stored article to its id."""

    def __init__(self, articles: Iterable[tuple[str, str, str]] = ()) -> None:
        self._ids: dict[str, str] = {}
        for doc_id, source, url in articles:
            self.add(doc_id, source, url)

    def add(self, doc_id: str, source: str = "", url: str = "") -> None:
        for alias in article_aliases(doc_id, source, url):
            # An exact id always wins; a shortened name two articles share goes to the first.
            if alias == doc_id or alias not in self._ids:
                self._ids[alias] = doc_id

    def resolve(self, name: str) -> str | None:
        if name in self._ids:
            return self._ids[name]
        return self._ids.get(name.rstrip("/"))

    def canonical(self, names: Sequence[str]) -> list[str]:
        """Ids of the names in order, duplicates and unknown names dropped."""
        return list(dict.fromkeys(i for i in (self.resolve(n) for n in names) if i))

    def __len__(self) -> int:
        return len(set(self._ids.values()))


@dataclass
class Outcome:
    """One evaluated question, with article names already mapped to ids."""

    answerable: bool
    sources: list[str] = field(default_factory=list)  # expected article ids (known ones)
    retrieved: list[str] = field(default_factory=list)  # article ids in rank order
    cited: list[str] = field(default_factory=list)  # article ids of the citations, may repeat
    refused: bool = False
    matched: bool | None = None  # a must_contain pattern matched the answer; None: no patterns
    latency_ms: float = 0.0


def first_relevant_rank(retrieved: Sequence[str], sources: Sequence[str], depth: int = DEPTH) -> int | None:
    """1-based rank of the first retrieved article that is a source, within `depth` articles."""
    wanted = set(sources)
    for rank, doc in enumerate(dict.fromkeys(retrieved), start=1):
        if rank > depth:
            break
        if doc in wanted:
            return rank
    return None


def answer_matches(answer: str, patterns: Sequence[str | re.Pattern]) -> bool:
    """Any pattern found anywhere in the answer, ignoring case."""
    for pattern in patterns:
        if isinstance(pattern, re.Pattern):
            if re.search(pattern.pattern, answer, pattern.flags | re.IGNORECASE):
                return True
        elif re.search(pattern, answer, re.IGNORECASE):
            return True
    return False


def citation_precision_one(cited: Sequence[str], sources: Sequence[str]) -> float | None:
    distinct = set(cited)
    if not distinct:
        return None
    return len(distinct & set(sources)) / len(distinct)


def citation_hit(cited: Sequence[str], sources: Sequence[str]) -> bool:
    return bool(set(cited) & set(sources))


def percentile(values: Sequence[float], q: float) -> float | None:
    """q-th percentile (0-100) with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def retrieval_metrics(pairs: Iterable[tuple[Sequence[str], Sequence[str]]]) -> dict:
    """Hits@1/5/10 and MRR@10 over (retrieved, sources) pairs; pairs without sources are skipped."""
    ranks = [first_relevant_rank(r, s) for r, s in pairs if s]
    hit = lambda k: _mean([1.0 if r is not None and r <= k else 0.0 for r in ranks])  # noqa: E731
    return {
        "n_retrieval": len(ranks),
        "hits_at_1": hit(1),
        "hits_at_5": hit(5),
        "hits_at_10": hit(10),
        "mrr_at_10": _mean([1.0 / r if r else 0.0 for r in ranks]),
    }


def summarize(outcomes: Sequence[Outcome]) -> dict:
    answerable = [o for o in outcomes if o.answerable]
    unanswerable = [o for o in outcomes if not o.answerable]
    judged = [o for o in answerable if o.matched is not None]
    answered_with_sources = [o for o in answerable if not o.refused and o.sources]
    precisions = [citation_precision_one(o.cited, o.sources) for o in answered_with_sources]
    latencies = [o.latency_ms for o in outcomes]
    summary = {
        "n_questions": len(outcomes),
        "n_answerable": len(answerable),
        "n_unanswerable": len(unanswerable),
        "n_accuracy": len(judged),  # answerable questions with must_contain patterns
        "n_citation_precision": sum(1 for p in precisions if p is not None),
        "n_citation_recall": len(answered_with_sources),
        **retrieval_metrics((o.retrieved, o.sources) for o in answerable),
        "accuracy": _mean([1.0 if (o.matched and not o.refused) else 0.0 for o in judged]),
        "citation_precision": _mean([p for p in precisions if p is not None]),
        "citation_recall": _mean([1.0 if citation_hit(o.cited, o.sources) else 0.0 for o in answered_with_sources]),
        "refusal_rate": _mean([1.0 if o.refused else 0.0 for o in unanswerable]),
        "false_refusal_rate": _mean([1.0 if o.refused else 0.0 for o in answerable]),
        "latency_p50_ms": _round(percentile(latencies, 50)),
        "latency_p95_ms": _round(percentile(latencies, 95)),
    }
    return summary


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


@dataclass
class Difference:
    metric: str
    value: float | None
    baseline: float | None
    diff: float | None
    worse: bool  # beyond the tolerance, in the bad direction (latency never fails the check)


def compare(summary: dict, baseline: dict, tolerance: float) -> list[Difference]:
    """Per-metric difference to a previous summary; `worse` marks a drop beyond the tolerance."""
    rows = []
    for metric in COMPARED:
        new, old = summary.get(metric), baseline.get(metric)
        if metric not in summary and metric not in baseline:
            continue
        if not isinstance(new, (int, float)) or not isinstance(old, (int, float)):
            rows.append(Difference(metric, new, old, None, False))
            continue
        diff = new - old
        worse = (metric in HIGHER_IS_BETTER and diff < -tolerance - 1e-12) or (
            metric in LOWER_IS_BETTER and diff > tolerance + 1e-12
        )
        rows.append(Difference(metric, new, old, diff, worse))
    return rows
