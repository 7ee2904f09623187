"""Misspelt question words corrected to the articles' own words ("Tilerson" -> "Tillerson").

The search and the evidence gate match words exactly (BM25, word overlap), and MiniLM alone does not
carry the gate, so a misspelt question was refused. A correction must not turn a question about
something the articles do not hold into one they answer ("McVie" -> "Movie", "aura" -> "laura" on
rtqa-dev's unanswerable questions), so only a word that is neither the articles' nor common English is
corrected, only to a word of theirs one edit away, and a capitalised word only to a name (a word the
articles mostly capitalise). The vocabulary is counted from the chunks at ingest and kept beside the
BM25 index; pyspellchecker (Norvig's method) gives the words one edit away and the English word list.
A question's first word is also corrected to the one question word it is an edit from ("whree" ->
"where"): the articles need not hold it, and without it the question asks for no kind of answer.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from spellchecker import SpellChecker

from bot.store import atomic_write_text
from bot.text import stopwords

VOCABULARY_FILE = "vocabulary.json"
WORD = re.compile(r"[A-Za-z]+")
CAPITALISED = re.compile(r"(?<![A-Za-z])[A-Z][A-Za-z]*")
MIN_LENGTH = 5  # shorter words have too many neighbours one edit away ("Marr" -> "Mark")
COMMON_ENGLISH = 100  # pyspellchecker's English count from which a word is English, not a typo ("meting": 81)
NAME_SHARE = 0.5  # share of capitalised uses from which an article word is a name


def count_words(texts: Iterable[str]) -> dict[str, list[int]]:
    """word (lower case) -> [uses, capitalised uses]."""
    uses: Counter = Counter()
    capitalised: Counter = Counter()
    for text in texts:
        uses.update(WORD.findall(text.lower()))
        capitalised.update(w.lower() for w in CAPITALISED.findall(text))
    return {w: [n, capitalised[w]] for w, n in uses.items()}


def save_vocabulary(counts: dict[str, list[int]], folder: Path) -> None:
    """Written whole or not at all (a temporary file renamed in)."""
    atomic_write_text(folder / VOCABULARY_FILE, json.dumps(counts, separators=(",", ":")))


def has_vocabulary(folder: Path) -> bool:
    return (folder / VOCABULARY_FILE).is_file()


def vocabulary_stamp(folder: Path) -> object:
    """Changes whenever an ingest rewrites the vocabulary."""
    try:
        return (folder / VOCABULARY_FILE).stat().st_mtime_ns
    except OSError:
        return None


@lru_cache(maxsize=1)
def _english_checker() -> SpellChecker:
    return SpellChecker()  # the English list is shipped inside the package: no download


def _english() -> dict[str, int]:
    return _english_checker().word_frequency.dictionary


# A question opens with one of these; the articles may hold none of them ("whree were the talks held").
QUESTION_WORDS = ("who", "whom", "whose", "what", "when", "where", "which", "why", "how")


def question_word(word: str) -> str | None:
    """The question word a misspelt first word is one edit from ("whree" -> "where", "waht" -> "what");
    None for a word of English ("hat", "whet") or one as near to two of them ("hwo": how or who)."""
    lower = word.lower()
    if lower in QUESTION_WORDS or lower in _english():
        return None
    near = [w for w in QUESTION_WORDS if w in _one_edit(lower)]
    if len(near) != 1:
        return None
    return near[0].capitalize() if word[0].isupper() else near[0]


def _one_edit(word: str) -> set[str]:
    return _english_checker().edit_distance_1(word)


class Speller:
    """Corrects questions against one store's vocabulary; without one, only a misspelt question word."""

    def __init__(self, counts: dict[str, list[int]]) -> None:
        self.counts = counts
        self.checker = SpellChecker(language=None)
        self.checker.word_frequency.load_json({w: n for w, (n, _) in counts.items()})

    @classmethod
    def load(cls, folder: Path) -> "Speller":
        try:
            counts = json.loads((folder / VOCABULARY_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):  # a store from before this file existed: nothing to correct against
            counts = {}
        if not isinstance(counts, dict):  # a damaged file corrects nothing rather than failing the answer
            counts = {}
        return cls({w: n for w, n in counts.items()
                    if isinstance(n, list) and len(n) == 2 and all(isinstance(x, int) for x in n)})

    def correct_word(self, word: str, as_name: bool) -> str | None:
        """The articles' spelling of `word`, or None when it needs none or no word of theirs is close
        enough. `as_name`: the word is capitalised inside the question, so only a name will do (a word
        in lower case may be a name typed in haste: "tilerson")."""
        lower = word.lower()
        if (len(lower) < MIN_LENGTH or not self.counts or lower in self.counts or lower in stopwords()
                or _english().get(lower, 0) >= COMMON_ENGLISH):
            return None
        near = [w for w in self.checker.known(self.checker.edit_distance_1(lower))
                if not as_name or self.counts[w][1] >= NAME_SHARE * self.counts[w][0]]
        if not near:
            return None
        best = max(sorted(near), key=lambda w: self.counts[w][0])
        return best.capitalize() if word[0].isupper() else best

    def correct(self, question: str) -> tuple[str, dict[str, str]]:
        """The question with misspelt words replaced, and what was replaced by what."""
        changes: dict[str, str] = {}

        def fix(match: re.Match) -> str:
            word = match.group()
            # A question's first word is capitalised as its start, not as a name.
            first = question[: match.start()].strip() == ""
            as_name = word[0].isupper() and not first
            better = (first and question_word(word)) or self.correct_word(word, as_name)
            if better is None:
                return word
            changes[word] = better
            return better

        return WORD.sub(fix, question), changes
