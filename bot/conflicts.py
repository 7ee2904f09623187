"""Dates and disagreements: how old an article is relative to the question, and when sources conflict.

News answers go stale: a question about "this week" is about the newest reports, and two articles can
give different numbers for the same fact. Retrieval uses `recency` to prefer articles published close
to (and not after) the question's date; the answerer uses `find_conflict` to say when the best
sentences from different articles give different values for the asked fact, citing each.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from typing import Sequence

_ISO = re.compile(r"^\s*(\d{4})[-/](\d{1,2})[-/](\d{1,2})")


def parse_day(value: object) -> date | None:
    """A date from 'YYYY-MM-DD' / 'YYYY/MM/DD' (time part ignored), a date, or None."""
    if isinstance(value, date):
        return value
    if not value:
        return None
    match = _ISO.match(str(value))
    if not match:
        return None
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        return None


def recency(published: object, as_of: object, days: float) -> float:
    """1.0 for an article from the question's day, decaying with age (e-folding `days`).

    Articles dated after the question decay three times as fast: a report from the future of the
    question cannot be what it refers to, though it may still repeat the fact. No date: 0.
    """
    day, ref = parse_day(published), parse_day(as_of)
    if day is None or ref is None or days <= 0:
        return 0.0
    age = (ref - day).days
    if age < 0:
        age = -3 * age
    return math.exp(-age / days)


# --- conflicts between sources
_NUM = re.compile(r"(?<![\w.])\$?\d+(?:[.,]\d+)*(?:\s?(?:%|percent|million|billion|trillion))?", re.I)
_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|december|"
           "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_DAY = re.compile(rf"\b(?:(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?|\d{{1,2}}\s+(?:{_MONTHS})\b(?:\s+\d{{4}})?)", re.I)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_NAME = re.compile(r"\b[A-Z][a-z]+(?:[ -][A-Z][a-z]+)+\b")


def _norm_number(text: str) -> str:
    return text.lower().replace(",", "").replace(" ", "").replace("$", "")


def fact_values(text: str, kind: str | None, question: str = "") -> set[str]:
    """The values of the asked kind in a sentence (numbers, dates or multi-word names), normalised.

    Values already in the question are not answers to it, so they are left out.
    """
    q = question.lower()
    if kind == "number":
        values = {_norm_number(m.group()) for m in _NUM.finditer(text) if not _YEAR.fullmatch(m.group())}
        return {v for v in values if v and v not in _norm_number(q)}
    if kind == "date":
        found = {re.sub(r"\s+", " ", m.group().lower().replace(",", "")) for m in _DAY.finditer(text)}
        return {v for v in found if v not in q}
    if kind == "name":
        return {m.group().lower() for m in _NAME.finditer(text) if m.group().lower() not in q}
    return set()


@dataclass
class Conflict:
    """Sentences from different articles that give different values for the asked fact."""

    kind: str
    items: list  # [(value, sentence)], one per article, best first


def find_conflict(question: str, kind: str | None, sentences: Sequence, min_score: float) -> Conflict | None:
    """Different values for the asked fact in the top sentences of different articles, or None.

    `sentences` are scored candidates, best first, each with `.text`, `.score` and `.passage.doc_id`.
    Only sentences scoring at least `min_score` take part, one per article, and each must hold
    exactly one value of the asked kind (a sentence listing several values is not a claim about one).
    A value that another article also gives is agreement, not conflict.
    """
    if kind not in ("number", "date"):
        return None  # names differ across articles for many benign reasons (titles, spellings)
    picked: dict[str, tuple[str, object]] = {}
    for s in sentences:
        if s.score < min_score:
            break
        doc = s.passage.doc_id
        if doc in picked:
            continue
        values = fact_values(s.text, kind, question)
        if len(values) != 1:
            continue
        picked[doc] = (next(iter(values)), s)
    if len(picked) < 2:
        return None
    items = list(picked.values())
    if len({v for v, _ in items}) < 2:
        return None
    seen: set[str] = set()
    out = []
    for value, s in items:
        if value not in seen:
            seen.add(value)
            out.append((value, s))
    return Conflict(kind=kind, items=out[:3])
