"""Sentence spans and content words: the units that answers, citations and the evidence gate work on."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bot.lemmas import irregular_forms

_PARAGRAPH = re.compile(r"\n\s*\n")
_WORD = re.compile(r"[A-Za-z0-9]+(?:[.'’-][A-Za-z0-9]+)*")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    text: str


@lru_cache(maxsize=1)
def _punkt():
    # The English Punkt model ships inside llama-index-core (nltk cache); loading it needs no network.
    from llama_index.core.utils import globals_helper
    from nltk.tokenize import PunktTokenizer

    globals_helper.wait_for_nltk_check()
    tokenizer = PunktTokenizer("english")
    # Datelines abbreviate US states in AP style ("GARDINER, Mont. -- Yellowstone..."); the model
    # knows most ("Calif.", "Nev.") but splits after these, cutting the dateline off the sentence.
    tokenizer._params.abbrev_types.update(STATE_ABBREVIATIONS | TITLE_ABBREVIATIONS)
    return tokenizer


STATE_ABBREVIATIONS = {"ark", "md", "mont", "neb", "tex", "wyo"}  # not "mass": "a critical mass. Then..."
# Titles and table labels news writes before a name or a number ("Gov. Andy Beshear", "Avg. price");
# the model splits after them. Not "no" ("No. And let me say this."): see `_continues`.
TITLE_ABBREVIATIONS = {"gov", "govs", "sens", "reps", "sgt", "asst", "rev", "mt", "blvd", "avg", "pct", "est", "h.w"}


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    from llama_index.core.utils import globals_helper

    extra = {"said", "says", "say", "told", "tell", "tells", "according", "also", "would", "could", "one", "new",
             "week", "weeks", "recently", "last", "year", "years", "news", "reported", "mr", "ms",
             "mrs", "many", "much", "which", "what", "who", "whom", "whose", "when", "where", "why",
             "how", "did", "does", "do", "besides", "else"}
    # NLTK's "won" is the stub of "won't", which `words` keeps whole: a lone "won" is the verb ("Who won?").
    return (frozenset(globals_helper.stopwords) - {"won"}) | frozenset(extra)


_NUMBER_SIGN = re.compile(r"\bNo\.$")
_TIME_OF_DAY = re.compile(r"\b[ap]\.m\.$")
_TIME_ZONE = re.compile(r"(?:[ECMP][SD]?T|GMT|UTC)\b")
_INITIALISM = re.compile(r"\b(?:[A-Z]\.){2,}$")  # "U.S.", "J.D.", "D.C."; not "p.m." (section 11)
_FIRST_WORD = re.compile(r"[\"“‘']?([A-Z][\w’'-]*)")
# Capitalised words that open a sentence after "...in the U.S.": the split there is right.
_OPENERS = {"though", "although", "following", "however", "meanwhile", "still", "yet", "also", "instead",
            "then", "now", "today", "here's", "there's", "that's", "it's"}


def _continues(before: str, after: str) -> bool:
    """Whether the model's split between two pieces falls inside one sentence: "ranked No. | 3 in the
    world", "at 9 p.m. | ET", "Pct. | with a degree" (edited news never starts a sentence lower-case),
    "Boston's J.D. | Martinez"."""
    return (
        after[:1].islower()
        or bool(_NUMBER_SIGN.search(before) and after[:1].isdigit())
        or bool(_TIME_OF_DAY.search(before) and _TIME_ZONE.match(after))
        or bool(_INITIALISM.search(before) and _goes_on_with_a_name(after))
    )


def _goes_on_with_a_name(after: str) -> bool:
    """"J.D. | Martinez", "the D.C. | Circuit", "U.S. | Interior Secretary": a name, not "The" or "He"."""
    m = _FIRST_WORD.match(after)
    if not m:
        return False
    word = m.group(1).lower().replace("’", "'")
    return word not in stopwords() and word not in _OPENERS


def split_sentences(text: str, offset: int = 0) -> list[Span]:
    """Sentences of `text` with offsets (shifted by `offset`); paragraph breaks always end a sentence."""
    spans: list[Span] = []
    tokenizer = _punkt()
    position = 0
    for paragraph in _PARAGRAPH.split(text) + [""]:
        start_para = text.find(paragraph, position) if paragraph else -1
        if start_para < 0:
            continue
        position = start_para + len(paragraph)
        first_of_paragraph = len(spans)
        for s, e in tokenizer.span_tokenize(paragraph):
            piece = paragraph[s:e]
            stripped = piece.strip()
            if not stripped:
                continue
            lead = len(piece) - len(piece.lstrip())
            begin = offset + start_para + s + lead
            if len(spans) > first_of_paragraph and _continues(spans[-1].text, stripped):
                last = spans.pop()
                end = begin + len(stripped)
                spans.append(Span(last.start, end, text[last.start - offset : end - offset]))
            else:
                spans.append(Span(begin, begin + len(stripped), stripped))
    return spans


# A publisher's sign-up line is run into the next sentence when a page is saved as text ("SPORTS
# NEWSLETTER:Sign up now to get daily updates sent to your inbox Matthews, the second American...").
_PROMOTION_LEAD = re.compile(
    r"^(?:[A-Z][A-Z' ]*[A-Z]\s*:\s*|if you haven['’]t subscribed yet,?\s*|get [^.!?:]{0,40}newsletter\s*)?"
    r"(?:sign up|subscribe)\b[^.!?]{0,120}?\b(?:inbox|here|today)\b[!.:]?\s*", re.I)
_PROMOTION = re.compile(r"\b(?:sign up|subscribe)\b.*\b(?:newsletter|inbox)\b|\bnewsletter\b.*\bsign up\b", re.I)
PROMOTION_MAX_WORDS = 30  # a sentence about newsletters, not a sign-up line, is longer


def without_promotion(span: Span) -> Span | None:
    """The sentence without a sign-up line run into its start; None when it is only a sign-up line."""
    m = _PROMOTION_LEAD.match(span.text)
    if m:
        rest = span.text[m.end():]
        if not rest[:1].isupper() and not rest.startswith(("(", '"', "“")):  # still the line: "...here for the
            return None  # '5 Things' newsletter."
        return Span(span.start + m.end(), span.end, rest)
    if _PROMOTION.search(span.text) and len(span.text.split()) <= PROMOTION_MAX_WORDS:
        return None
    return span


_INITIALS = re.compile(r"(?:[a-z]\.)+[a-z]")  # "u.s", "u.n": the same word as "us", "un"


def words(text: str) -> list[str]:
    out = [w.lower().replace("’", "'") for w in _WORD.findall(text)]
    return [w.replace(".", "") if _INITIALS.fullmatch(w) else w for w in out]


# News names a country by its adjective as often as by its name ("Japanese Foreign Minister Taro Kono"
# answers "Japan's foreign minister"); the common ones are matched to the country.
_DEMONYMS = {
    "american": "america", "australian": "australia", "british": "britain", "canadian": "canada",
    "chinese": "china", "european": "europe", "french": "france", "german": "germany", "indian": "india",
    "iranian": "iran", "iraqi": "iraq", "israeli": "israel", "italian": "italy", "japanese": "japan",
    "korean": "korea", "mexican": "mexico", "pakistani": "pakistan", "palestinian": "palestine",
    "russian": "russia", "spanish": "spain", "syrian": "syria", "turkish": "turkey", "ukrainian": "ukraine",
    "afghan": "afghanistan", "brazilian": "brazil", "african": "africa", "asian": "asia",
    "egyptian": "egypt", "swedish": "sweden", "polish": "poland", "dutch": "netherlands",
    "irish": "ireland", "greek": "greece", "norwegian": "norway", "danish": "denmark", "finnish": "finland",
    "swiss": "switzerland", "austrian": "austria", "belgian": "belgium", "portuguese": "portugal",
    "vietnamese": "vietnam", "thai": "thailand", "indonesian": "indonesia", "filipino": "philippines",
    "saudi": "saudi", "nigerian": "nigeria", "kenyan": "kenya", "argentine": "argentina",
    "argentinian": "argentina", "chilean": "chile", "colombian": "colombia", "venezuelan": "venezuela",
    "cuban": "cuba", "taiwanese": "taiwan", "lebanese": "lebanon", "hungarian": "hungary",
    "serbian": "serbia", "romanian": "romania", "scottish": "scotland", "welsh": "wales",
}


def names_a_nation(text: str) -> bool:
    """Whether a people's name is a nationality ("Japanese", "South Koreans"), not a party or faith."""
    return any(w in _DEMONYMS or (w.endswith("s") and w[:-1] in _DEMONYMS) for w in words(text))


_SAME_MEANING_PREFIXES = frozenset({"co", "re", "pre", "post", "mid", "semi", "multi"})  # not "non-", "anti-"
# "US-led", "New York-based", "state-run": the thing named before them ("the US campaign", "a York firm").
_OF_SUFFIXES = frozenset({"led", "based", "backed", "owned", "run", "funded", "born", "made", "style"})


@lru_cache(maxsize=200_000)  # called for every word of every candidate sentence: half of an answer's time
def stem(word: str) -> str:
    """A light stemmer: enough to match 'sanctions' with 'sanction', 'urged' with 'urge',
    'Japanese' with 'Japan' and (`bot/lemmas.py`) 'told' with 'tell'."""
    word = _DEMONYMS.get(word, word)
    word = irregular_forms().get(word, word)
    if word.endswith("s") and word[:-1] in _DEMONYMS:  # "Canadians"
        word = _DEMONYMS[word[:-1]]
    if word.endswith("'s"):
        word = word[:-2]
    prefix, dash, rest = word.partition("-")
    if dash and prefix in _SAME_MEANING_PREFIXES and len(rest) >= 3:  # "co-hosted" hosts, "re-elected" is elected
        word = rest
    head, dash, tail = word.rpartition("-")
    if dash and tail in _OF_SUFFIXES and len(head) >= 2:  # the "US-led" campaign is the US campaign
        word = head
    # Too short for the rules below: "died" is "die" (as "dies" is), "tries" is "try" (as "tried" is).
    if len(word) == 4 and word.endswith("ied"):
        return word[:-1]
    if len(word) == 5 and word.endswith("ies"):
        return word[:-3] + "y"
    for suffix in ("ing", "ies", "ed", "es", "s"):
        if suffix == "s" and word.endswith(("ss", "us", "is")):  # "discuss", "virus", "crisis": not plurals
            continue
        if len(word) >= len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    # "urge" and "urged" both become "urg"
    return word[:-1] if len(word) >= 4 and word.endswith("e") else word


def content_words(text: str) -> list[str]:
    """Words that carry meaning (no stopwords, no single letters), lower-cased, in order, with repeats."""
    stop = stopwords()
    return [w for w in words(text) if w not in stop and (len(w) > 1 or w.isdigit())]


def content_terms(text: str) -> list[str]:
    """Stemmed `content_words`."""
    return list(_content_terms(text))


# Places named after a people that are not its nation: "Vancouver, British Columbia" says nothing of Britain.
_PLACES_NAMED_FOR_A_PEOPLE = frozenset({("british", "columbia"), ("indian", "ocean"), ("indian", "wells")})


@lru_cache(maxsize=2048)  # an answer reads each candidate sentence's terms several times (overlap, features)
def _content_terms(text: str) -> tuple[str, ...]:
    found = content_words(text)
    return tuple(word if (word, after) in _PLACES_NAMED_FOR_A_PEOPLE else stem(word)
                 for word, after in zip(found, found[1:] + [""]))


def coverage(question_terms: list[str], evidence: str) -> float:
    """Share of the distinct question terms that occur in the evidence."""
    wanted = set(question_terms)
    if not wanted:
        return 0.0
    found = wanted & set(content_terms(evidence))
    return len(found) / len(wanted)
