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

from bot.text import stem, stopwords

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
_NUM = re.compile(r"(?<![\w.])(?P<currency>[$£€])?\d+(?:[.,]\d+)*"
                  r"(?:\s?(?P<suffix>%|percent\b|million\b|billion\b|trillion\b))?", re.I)
_SCALE = {"million": 1e6, "billion": 1e9, "trillion": 1e12}
_NEXT_WORD = re.compile(r"\s*-?\s*([a-z][a-z-]*)", re.I)
_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|december|"
           "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_DAY = re.compile(rf"\b(?:(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?|\d{{1,2}}\s+(?:{_MONTHS})\b(?:\s+\d{{4}})?)", re.I)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
# A rival value counts only from a sentence at least this share as likely to answer as the first
# claim's: one that barely clears the gate is seldom about the asked fact ("$46 million" under Obama
# against "$6 billion since the invasion").
RIVAL_SHARE = 0.5


def _norm_number(text: str) -> str:
    return text.lower().replace(",", "").replace(" ", "").replace("$", "")


@dataclass(frozen=True)
class Value:
    """One value a sentence gives: how the note shows it, what makes two equal, and what it measures."""

    text: str  # normalised, as the note shows it: "4.47", "1200", "6billion", "32%", "march 3"
    key: float | str  # equal for the same value however written ("2 million" and "2,000,000")
    measure: str  # "dollars", "cents", "percent", "count:<counted noun>", "count" or "date"


def _amount(match: re.Match) -> float | str:
    """The number itself, scaled ("2 million" is 2e6); its text when it is no number ("1.2.3")."""
    digits = re.sub(r"[^\d.]", "", match.group().split()[0])
    scale = _SCALE.get((match.group("suffix") or "").lower(), 1.0)
    try:
        return float(digits) * scale
    except ValueError:
        return _norm_number(match.group())


def _measure(match: re.Match, text: str) -> str:
    """What a number measures, from its currency sign, its suffix or the word after it.

    "$4.47 a gallon" (dollars) and "up nearly 7 cents" (cents) are not two values of one fact, nor
    are "12 states" and "130,000 stations"; a number followed by no noun ("1,150 were killed") is a
    bare count.
    """
    suffix = (match.group("suffix") or "").lower()
    if match.group("currency"):
        return {"$": "dollars", "£": "pounds", "€": "euros"}[match.group("currency")]
    if suffix in ("%", "percent"):
        return "percent"
    after = _NEXT_WORD.match(text, match.end())
    word = after.group(1).lower() if after else ""
    if word in ("cents", "cent", "dollars", "dollar"):
        return "cents" if word.startswith("cent") else "dollars"
    if not word or word in stopwords():
        return "count"
    return f"count:{stem(word)}"


def quantities(text: str, question: str = "") -> list[Value]:
    """The numbers a sentence gives (not years), each with what it measures; values the question
    already holds are not answers to it, so they are left out."""
    asked = {_amount(m) for m in _NUM.finditer(question)}
    found = []
    for m in _NUM.finditer(text):
        if _YEAR.fullmatch(m.group()):
            continue
        value = Value(_norm_number(m.group()), _amount(m), _measure(m, text))
        if value.key not in asked and value not in found:
            found.append(value)
    return found


def _dates(text: str, question: str) -> list[Value]:
    """The dates a sentence gives ("march 3"), normalised; dates the question already holds left out."""
    found = {re.sub(r"\s+", " ", m.group().lower().replace(",", "")) for m in _DAY.finditer(text)}
    return [Value(v, v, "date") for v in sorted(found) if v not in question.lower()]


def _tied_to_another_year(sentence, question: str) -> bool:
    """The sentence names a year other than its article's (and the question's): "the record of
    $4.11 set in 2008" is a fact about 2008, not a rival to today's price. Unknown date: False."""
    metadata = getattr(sentence.passage, "metadata", None) or {}
    published = parse_day(metadata.get("date"))
    if published is None:
        return False
    years = set(_YEAR.findall(sentence.text)) - set(_YEAR.findall(question))
    return any(int(y) != published.year for y in years)


def _values(sentence, kind: str, question: str) -> list[Value]:
    if kind == "date":
        return _dates(sentence.text, question)
    if _tied_to_another_year(sentence, question):
        return []
    return quantities(sentence.text, question)


@dataclass
class Conflict:
    """Sentences from different articles that give different values for the asked fact."""

    kind: str
    items: list  # [(value, sentence)], one per article, best first


def find_conflict(question: str, kind: str | None, sentences: Sequence, min_score: float) -> Conflict | None:
    """Different values for the asked fact in the top sentences of different articles, or None.

    `sentences` are scored candidates, best first, each with `.text`, `.score` and `.passage.doc_id`
    (and `.passage.metadata["date"]`). Only sentences scoring at least `min_score` take part, and a
    claim is a sentence holding exactly one value of the asked kind (a sentence listing several
    values is not a claim about one). The first claim sets the fact and what it measures (dollars,
    cents, percent, a count of some noun); each other article's first claim measuring the same
    thing, scoring at least RIVAL_SHARE of the first's, is compared with it. Two articles agree when
    either also states the other's value.
    """
    if kind not in ("number", "date"):
        return None  # names differ across articles for many benign reasons (titles, spellings)
    claims = [(s, _values(s, kind, question)) for s in sentences if s.score >= min_score]
    first = next(((s, values[0]) for s, values in claims if len(values) == 1), None)
    if first is None:
        return None
    first_sentence, fact = first
    stated = _keys_by_article(claims, fact.measure)
    items = [(fact.text, first_sentence)]
    shown = {fact.key}
    compared = {first_sentence.passage.doc_id}
    for s, values in claims:
        doc = s.passage.doc_id
        if doc in compared or len(values) != 1 or values[0].measure != fact.measure:
            continue
        if s.score < RIVAL_SHARE * first_sentence.score:
            continue  # too weak to dispute the first claim (the ranker's order is not the score's)
        compared.add(doc)  # one claim per article: its best one
        other = values[0]
        if fact.key in stated[doc] or other.key in stated[first_sentence.passage.doc_id]:
            continue  # the articles agree
        if other.key not in shown:
            shown.add(other.key)
            items.append((other.text, s))
    return Conflict(kind=kind, items=items[:3]) if len(items) > 1 else None


def _keys_by_article(claims: list, measure: str) -> dict[str, set]:
    """Every value of one measure that each article states in the strong sentences, claims or not
    ("lost 970,000 subscribers, ahead of its prediction of 2 million" states both)."""
    stated: dict[str, set] = {}
    for s, values in claims:
        stated.setdefault(s.passage.doc_id, set()).update(v.key for v in values if v.measure == measure)
    return stated
