"""What tells an answer sentence from a sentence that only talks about the question.

Each candidate sentence gets a handful of features: how close it is in meaning to the question, how
many question words it holds and how many its passage with the sentence before it holds (so "He
said..." inherits its subject), whether the question's names and numbers are in its passage,
whether it brings a value of the asked kind that the question does not already contain (and a named
entity of that kind, `bot/entities.py`), how much of it only restates the question, its article's
rank and whether it reads like a headline.
`bot/answer_model.py` weighs them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from bot.entities import (ASKS_DATE, ASKS_PERSON, ASKS_PLACE, COUNTRY_WORDS, PERSON_WORDS, asked_labels,
                          default_tagger, kind_word, nationality_of, new_entities)
from bot.text import content_terms, content_words, coverage, stem, stopwords, words

_NUMBER = re.compile(
    r"\b\d[\d,.]*\b|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
    r"fifty|hundred|thousand|million|billion|trillion|dozens?|half)\b|%",
    re.I,
)
_DAY_OR_MONTH = (r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|may|"
                 r"june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|"
                 r"nov|dec)")
_DATE = re.compile(rf"\b{_DAY_OR_MONTH}\b|\b(?:1[89]|20)\d\d\b", re.I)
# "the 1950-53 Korean War", "the 2018 World Cup": a year that is part of an event's name dates that
# event, not what a "when" question asks about (unless it names the event).
_EVENT_YEAR = re.compile(r"\b[Tt]he\s+((?:1[89]|20)\d\d(?:[-–/]\d\d(?:\d\d)?)?)\s+((?:[A-Z][\w'’-]*\s?)+)")
# A capitalised word not at the start of the text: names of people, places, organisations, titles.
_ANY_CAPITALISED = re.compile(r"\b[A-Z][A-Za-z'’.-]*[A-Za-z]")
_CAPITALISED = re.compile(r"(?<!^)(?<![.!?:\"“]\s)\b[A-Z][A-Za-z'’.-]*[A-Za-z]|\b[A-Z]{2,}\b")


# "Which country...?" and "Which countries...?" alike ask for names.
_ASKS_NAMED_THING = re.compile(
    r"\bwhich (person|people|leaders?|officials?|ministers?|countr(y|ies)|nations?|cit(y|ies)|states?|"
    r"compan(y|ies)|teams?|players?|presidents?|organi[sz]ations?|groups?|part(y|ies)|firms?|brands?|"
    r"actors?|actress(es)?|singers?|bands?|films?|movies?|shows?|courts?|agenc(y|ies))\b|"
    r"\bwhat (countr(y|ies)|cit(y|ies)|states?|compan(y|ies)|organi[sz]ations?|teams?|name)\b"
)


def expected_answer_type(question: str) -> str | None:
    """'number', 'date' or 'name' when the question asks for one; None otherwise."""
    q = question.lower()
    if re.search(rf"\bhow (many|much|{'|'.join(HOW_ADJECTIVES)})\b|\bwhat (number|percentage|amount|share|price)\b", q):
        return "number"
    if ASKS_DATE.search(q):
        return "date"
    if ASKS_PERSON.search(q) or _ASKS_NAMED_THING.search(q) or ASKS_PLACE.search(q):
        return "name"
    return None


def values_of(text: str, kind: str | None) -> set[str]:
    """The values of a kind in a text, normalised: numbers, date words, or capitalised names."""
    if kind == "number":
        return {m.group(0).lower().replace(",", "") for m in _NUMBER.finditer(text)}
    if kind == "date":
        return {m.group(0).lower() for m in _DATE.finditer(text)}
    if kind == "name":
        return {stem(m.group(0).lower().strip(".")) for m in _CAPITALISED.finditer(text)} - stopwords()
    return set()


_YEAR = re.compile(r"(?:1[89]|20)\d\d")


def event_years(sentence: str, question_terms: set[str]) -> set[str]:
    """The years that name an event the question does not ask about: "1950-53" of
    "the 1950-53 Korean War" for "When did the meeting take place?"."""
    found = set()
    for m in _EVENT_YEAR.finditer(sentence):
        name = m.group(2).split()
        if re.fullmatch(_DAY_OR_MONTH, name[0].rstrip("."), re.I) or set(content_terms(m.group(2))) & question_terms:
            continue
        found.update(_YEAR.findall(m.group(1)))
    return found


def name_groups(text: str) -> list[set[str]]:
    """The names a text gives, one set of stems per run of capitalised words ("Chrystia Freeland",
    "China"): a sentence names the person when it holds any word of the run. Names joined by "and"
    or "or" are one group: a sentence about Kate alone is about "William and Kate"."""
    groups: list[set[str]] = []
    end = -2
    for m in _CAPITALISED.finditer(text):
        # Spelt as the sentence's words are ("U.S." is "us"; it was "u.s", in no sentence).
        tokens = words(m.group(0))
        word = stem(tokens[0] if len(tokens) == 1 else m.group(0).lower().strip("."))
        if word in stopwords() or len(word) < 2:
            continue
        if groups and text[end:m.start()].strip(" ,&").lower() in ("", "and", "or"):
            groups[-1].add(word)
        else:
            groups.append({word})
        end = m.end()
    return groups


_ROLE_OF = re.compile(r"^\s*who\s+(?:is|was|are|were)\s+(?:the\s+)?(.+?)['’]s?\s+(.+?)\s*\??\s*$", re.I)
# "Who is the New Zealand foreign minister?": the holder's name, then a role that ends in a person word.
_ROLE_AFTER_NAME = re.compile(r"^\s*[Ww]ho\s+(?:is|was|are|were)\s+the\s+((?:[A-Z][\w.'’-]*\s+)+)([a-z][a-z\s-]*?)\s*\??\s*$")
# "Who is the prime minister of Canada?": a role of a few words, then its holder.
_ROLE_OF_HOLDER = re.compile(
    r"^\s*who\s+(?:is|was|are|were)\s+(?:the\s+)?((?:[\w-]+\s+){0,3}[\w-]+)\s+of\s+(?:the\s+)?((?:[\w.-]+\s*){1,4})\??\s*$", re.I)
_TRAILING_NAME = re.compile(r"(?:[A-Z][\w.'’-]*\s+)*[A-Z][\w.'’-]*$")
ROLE_REACH = 3  # content words between the holder's name and the role ("Canada's Minister of Foreign Affairs")


class RoleAsked(NamedTuple):
    holder: tuple[str, ...]  # the holder's name (stems): North Korea's minister is not South Korea's
    role: frozenset[str]  # the role's words (stems)
    whole_role: bool  # a sentence must name every word of the role, not just one


def role_asked(question: str) -> RoleAsked | None:
    """"Who is X's <role>?" or "Who is the <role> of X?"; None for other questions. The possessive
    form's role may run on ("...Policy Planning Director mentioned in the coverage"), so one of a
    long role's words is enough; a role of up to two words, and the "of" form's, is exact: "prime
    minister" is not any minister."""
    m = _ROLE_OF_HOLDER.match(question)
    whole = m is not None
    if m:
        role, holder_text = content_terms(m.group(1)), m.group(2)
    else:
        m = _ROLE_OF.match(question)
        if not m:
            m = _ROLE_AFTER_NAME.match(question)
            if not m or m.group(2).split()[-1] not in PERSON_WORDS:
                return None
        holder_text, role = m.group(1), content_terms(m.group(2))
        # A role of two words is all of them: Japan's "prime minister" is not its foreign minister.
        whole = len(set(role)) <= 2
    # The holder is the name it ends with ("North Korea", "the State Department"), or else its last
    # word ("Canada's 2022 Olympic men's hockey team" -> team).
    name = _TRAILING_NAME.search(holder_text.strip())
    holder = content_terms(name.group(0)) if name else content_terms(holder_text)[-1:]
    return RoleAsked(tuple(holder), frozenset(role), whole) if holder and role else None


def names_role(sentence: str, asked: RoleAsked) -> bool:
    found = asked.role & set(content_terms(sentence))
    return found == asked.role if asked.whole_role else bool(found)


def holds_role(sentence: str, asked: RoleAsked) -> bool:
    """The holder's name comes just before a word of the role: "Canadian Foreign Minister", "Canada's
    Minister of Foreign Affairs"; or just after it: "Prime Minister of Canada"; not "Foreign Affairs
    Minister Winston Peters left for Canada", nor "South Korean Foreign Minister" for North Korea's."""
    terms = content_terms(sentence)
    n = len(asked.holder)
    return any(tuple(terms[i + 1 - n : i + 1]) == asked.holder
               and asked.role & set(terms[i + 1 : i + 1 + ROLE_REACH] + terms[max(0, i + 1 - n - 2) : i + 1 - n])
               for i in range(n - 1, len(terms)))


def question_anchors(question: str) -> set[str]:
    """The question's names and numbers: an answer's passage should hold them."""
    found = {stem(m.group(0).lower().strip(".")) for m in _CAPITALISED.finditer(question)}
    found |= {w for w in words(question) if any(ch.isdigit() for ch in w)}
    return {a for a in found if a not in stopwords() and len(a) > 1}


@dataclass
class QuestionInfo:
    text: str
    terms: list[str]
    kind: str | None
    anchors: set[str]
    term_set: set[str]
    search_text: str  # what sentences are compared with by meaning
    counted: set[str]  # what a "how many" question counts (stems); empty otherwise
    asks_quote: bool  # "what did X say/tell/call..."
    entity_labels: frozenset[str] | None  # the named-entity labels that can answer it (bot/entities.py)
    names: set[str]  # the capitalised words of the question itself (stems)
    plain_terms: tuple[str, ...] = ()  # its words that are not names: what it asks about them ("favourite food")
    referent: str = ""  # a follow-up's "he"/"she"/"they": the earlier turn's names
    pronouns: frozenset[str] = frozenset()  # every form of the question's personal pronoun ("she", "her", "hers")
    kind_word: str = ""  # "which countries": the kind asked for, matched by naming one (entities.kind_word)
    speech_word: str = ""  # "What did Freeland urge?": "urge", matched by a sentence that reports words

    @classmethod
    def of(cls, question: str, context: str = "", earlier_question: str = "") -> "QuestionInfo":
        """`context`: the retrieval query of a follow-up (the question, then the earlier turn); the
        earlier turn's names stand in for "he", "she", "it". `earlier_question`: the question of that
        turn, whose words a follow-up of one word or none ("Why?", "Where was it held?") is about."""
        terms = asked_terms(question)
        anchors = question_anchors(question)
        search_text = question
        referent = ""
        asked = question  # the words a pronoun is looked for in: "When?" after "Where did he go?" asks of him
        if earlier_question and context != question and (
                not terms or (len(terms) <= ELLIPTICAL_TERMS and _ANAPHOR.search(question))):
            asked = f"{question} {earlier_question}"
            # Read in the follow-up's shape: "When?" after "Where was the meeting held?" asks when the
            # meeting was, and "held" only shapes a where- or when-question.
            terms = terms + [t for t in asked_terms(f"{question} {earlier_question}") if t not in terms]
            search_text = f"{earlier_question} {question}"
        if context and context != question and context.startswith(question):
            names = list(dict.fromkeys(m.group(0) for m in _ANY_CAPITALISED.finditer(context[len(question):])))
            names = [n for n in names if n.lower() not in stopwords()]
            # Only the first few names: a long earlier answer names many people; the referent of
            # "he"/"she" is usually among the first (and its words must not outweigh the question's).
            names = names[:FOLLOW_UP_NAMES]
            anchors |= {stem(n.lower().strip(".")) for n in names}
            # The referent stands in for the pronoun: "what did she tell the gathering?" after "Chrystia
            # Freeland" asks what Chrystia Freeland told it, so her name counts as a question word. Only
            # with a pronoun: a short new question ("Who won the 2018 World Cup?") is about something
            # else, and the earlier names would make the earlier topic answer it.
            if _PERSONAL_PRONOUN.search(asked):
                person = _person_referred_to(asked, context[len(question):], earlier_question)
                # The person, with the earlier question's own names ("Canada" of "Who is Canada's
                # foreign minister?"), not every name of the earlier answer.
                asked_names = [m.group(0) for m in _ANY_CAPITALISED.finditer(earlier_question)]
                referent = person or " ".join(names)
                stand_in = f"{person} {' '.join(asked_names)}" if person else referent
                terms = terms + [t for t in content_terms(stand_in) if t not in terms]
            if names and search_text == question:
                search_text = f"{question} ({', '.join(names)})"
        own_names = values_of(question, "name")
        plain = tuple(t for t in asked_terms(question) if t not in own_names)
        return cls(question, terms, expected_answer_type(question), anchors, set(terms), search_text,
                   counted_things(question), asks_what_said(question), asked_labels(question),
                   own_names, plain, referent, _pronoun_forms(question) if referent else frozenset(),
                   kind_word(question) or "", speech_word(question))


# Verbs that only shape a question: "What happened in Hawaii?" asks for the event, not for a sentence
# holding "happened"; "Where is ... based?", "When was it held?", "Where does X work?" ask for a place
# or a date (but "How many books does the library hold?" asks what it holds).
EVENT_VERBS = ("happen", "happened", "happens", "happening", "occur", "occurred", "occurs")
# "Where does X work?", "Where did he go?" ("left for Canada")
PLACE_TIME_VERBS = ("based", "located", "held", "situated", "work", "works", "live", "lives", "go", "goes", "went",
                    "gone", "headed")
# The adjective of "How old / long / far...?" names the kind of number asked for. It is not asked of
# the names ("How old is Carlos Santana?" wants no sentence saying "old"), but it stays a question word
# for the gate: "How long did the meeting last?" is not answered by any sentence about the meeting
# that holds a number ("...the 1950-53 Korean War").
HOW_ADJECTIVES = ("old", "long", "far", "big", "large", "high", "tall", "hot", "cold", "warm", "deep", "heavy", "fast",
                  "wide", "low", "expensive")


@lru_cache(maxsize=4)
def _stems(words: tuple[str, ...]) -> frozenset[str]:
    return frozenset(stem(w) for w in words)


def shaping_terms() -> frozenset[str]:
    """Stems that a question of one name and one word does not ask of the name ("How old is X?",
    "Where is X based?", "What happened to X?")."""
    return _stems(EVENT_VERBS + PLACE_TIME_VERBS + HOW_ADJECTIVES)


_TAKE_PLACE = re.compile(r"\b(?:take|takes|took|taken|taking)\s+place\b", re.I)  # "When did it take place?"
# Words about the articles themselves, not about the news: "...according to the report that mentions
# Winston Peters?", "...mentioned in the coverage?", "do the reports quote it the same way?". No answer
# sentence holds them, nor the names such a phrase gives (they pick the article: the question's
# anchors, looked for in the whole article).
_DOCUMENT = r"(?:reports?|articles?|stor(?:y|ies)|coverage|pieces?)"
_NAMES = r"(?:\s+(?-i:[A-Z][\w.'-]*))+"
_THE_SOURCE = re.compile(
    rf"\b(?:mentioned|named|quoted|cited)\s+(?:in|by)\s+(?:the|one|a|both|each|these|this)\s+{_DOCUMENT}\b"
    # "the VOA report", "the article that mentions Winston Peters", "the story naming Freeland"
    rf"|\b(?:the|one|a|both|each|these|this)(?:\s+(?-i:[A-Z]+))?\s+{_DOCUMENT}"
    rf"(?:\s+(?:(?:that|which)\s+(?:mentions?|names?|quotes?|cites?)|mentioning|naming|quoting|citing){_NAMES}"
    rf"|(?=\s+(?-i:[A-Z])|\s*[?,.]|\s+(?:quote|say|said|begin|give)s?\b)|\s+mentions?\b)",
    re.I)
# "Which report says Kang conceded...?" asks for the article: it names the sentence's article first.
_WHICH_ARTICLE = re.compile(rf"^\s*(?:which|what)\s+(?:news\s+)?{_DOCUMENT}\s+(?:says?|said|reports?|reported|mentions?|"
                            rf"quotes?|quoted|states?|stated|describes?|names?|notes?|claims?)\b", re.I)


def asks_which_article(question: str) -> bool:
    return bool(_WHICH_ARTICLE.match(question))


# The phrase whole, as it opens or closes a question: "In the article that mentions Peters, what...?"
_SOURCE_CLAUSE = re.compile(rf"^\s*(?:in|according to|from)\s+(?:{_THE_SOURCE.pattern})\s*,\s*"
                            rf"|,?\s*(?:in|according to)\s+(?:{_THE_SOURCE.pattern})\s*(?=\?|$)", re.I)


def core_question(question: str) -> str:
    """The question without a clause that points at an article ("In the article that mentions
    Peters, what did Russia's foreign minister say?" -> "What did Russia's foreign minister say?"):
    what it asks of the news, for the rules that read its shape."""
    core = _SOURCE_CLAUSE.sub("", question).strip()
    return core[:1].upper() + core[1:] if core else question


# "What is the date of the talks?", "What year did it debut?": the answer is a date, which no sentence
# calls one ("Jan. 16, 2018", "in 1995").
_DATE_ASKED = re.compile(r"\b(?:what|which)(?:'s|’s|\s+is|\s+was|\s+were|\s+are)?\s+(?:the\s+)?(?:date|day|year|month)\b", re.I)


def asked_terms(question: str) -> list[str]:
    """The question's content words without those that only shape it; all of them when nothing else
    is left ("How old?")."""
    plain = _WHICH_ARTICLE.sub(" ", _THE_SOURCE.sub(" ", _TAKE_PLACE.sub(" ", _DATE_ASKED.sub(" ", question))))
    terms = content_terms(plain) or content_terms(question)
    lowered = question.lower()
    shaping = _stems(EVENT_VERBS + PLACE_TIME_VERBS) if ASKS_PLACE.search(lowered) or ASKS_DATE.search(lowered) \
        else _stems(EVENT_VERBS)
    return [t for t in terms if t not in shaping] or terms


FOLLOW_UP_NAMES = 4
# A follow-up with no word of its own, or one word and a word pointing back ("Which ones were not
# invited?"), is read with the earlier question; "When was the meeting?" stands on its own.
ELLIPTICAL_TERMS = 1
_ANAPHOR = re.compile(r"\b(it|its|they|them|their|he|she|him|her|his|this|that|these|those|there|then|ones?)\b", re.I)
_PERSONAL_PRONOUN = re.compile(r"\b(he|she|they|him|her|hers|his|them|their)\b", re.I)
_SINGULAR_PERSON = re.compile(r"\b(he|she|him|her|hers|his)\b", re.I)
_PRONOUN_FORMS = ({"he", "him", "his"}, {"she", "her", "hers"}, {"they", "them", "their", "theirs"})


def _person_referred_to(question: str, earlier_turn: str, earlier_question: str = "") -> str:
    """For "he"/"she": the first person the earlier turn names (its question first, then its
    answer); "What did she say?" after "Who is Chrystia Freeland?" is about her, not about the
    other officials her answer sentence names. After "Who is Canada's foreign minister?" it is the
    person named right after the role ("...Minister of Foreign Affairs Chrystia Freeland"), not
    the first one ("Rex Tillerson speaks with..."). '' when it names none or the pronoun is "they"."""
    if not _SINGULAR_PERSON.search(question):
        return ""
    (found,) = default_tagger().entities([earlier_turn])
    people = [text for text, label in found if label == "PERSON"]
    asked = role_asked(earlier_question) if earlier_question else None
    if asked:
        role = asked.role
        holder = next((p for p in people
                       if role & set(content_terms(earlier_turn[: earlier_turn.find(p)])[-ROLE_REACH:])), None)
        if holder:
            return holder
    # "How old was she?" after "...Bill Cosby liable in a case brought by Judy Huth, a woman who...":
    # the person the turn marks as a woman, when it marks one; likewise for "he".
    wanted = "female" if re.search(r"\b(?:she|her|hers)\b", question, re.I) else "male"
    marked = [p for p in people if _gender_marked(p, earlier_turn) == wanted]
    return marked[0] if marked else people[0] if people else ""


_FEMALE = frozenset({"she", "her", "woman", "girl", "mother", "wife", "daughter", "sister", "actress", "queen",
                     "princess", "lady", "mrs", "ms", "miss", "grandmother", "businesswoman", "spokeswoman"})
_MALE = frozenset({"he", "his", "man", "boy", "father", "husband", "son", "brother", "actor", "king", "prince",
                   "sir", "mr", "grandfather", "businessman", "spokesman"})


def _gender_marked(person: str, text: str) -> str:
    """'female' or 'male' when the words right around the person's name say so ("Ms Huth", "Judy Huth,
    a woman who", "Huth said she"), else ''."""
    at = text.find(person)
    after = text[at + len(person) : at + len(person) + 40]
    after = after[: m.start()] if (m := re.search(r"\s[A-Z]", after)) else after  # not the next name's words
    around = words(text[max(0, at - 12) : at]) + words(after)[:4]
    female, male = any(w in _FEMALE for w in around), any(w in _MALE for w in around)
    return "female" if female and not male else "male" if male and not female else ""


def without_own_pronouns(question: str) -> str:
    """The question without the "he"/"his"/"she"... of someone it names before them: "What did
    Tillerson say in his opening remarks?" stands alone, whatever was asked before it."""
    m = _PERSONAL_PRONOUN.search(question)
    if not m:
        return question
    before = question[: m.start()].split()[1:]  # not the first word: "When", "What" are capitalised
    if any(w[:1].isupper() and w.lower().strip(".,'’s") not in stopwords() for w in before):
        return _PERSONAL_PRONOUN.sub("", question)
    return question


_HE_SHE = re.compile(r"\b(?:he|she|him)\b|\bher(?=\s*[?.!]*\s*$)", re.I)
_HIS = re.compile(r"\bhis\b", re.I)


def with_the_person_named(question: str, earlier_question: str, earlier_answer: str) -> str:
    """A follow-up's "he"/"she" replaced by the person the earlier turn names ("Who is he?" after a
    question about Tillerson's remarks -> "Who is Rex Tillerson?"), so that it is read as if it had
    been asked with the name; the question unchanged when it names its own people or no one is found."""
    if not _SINGULAR_PERSON.search(question) or without_own_pronouns(question) != question:
        return question
    person = _person_referred_to(question, f"{earlier_question} {earlier_answer}", earlier_question)
    if not person:
        return question
    named = _HE_SHE.sub(person, question, count=1)
    return _HIS.sub(f"{person}'s", named, count=1)


def refers_to_one_person(question: str) -> bool:
    return bool(_SINGULAR_PERSON.search(question))


def _pronoun_forms(question: str) -> frozenset[str]:
    asked = {m.group(0).lower() for m in _PERSONAL_PRONOUN.finditer(question)}
    return frozenset(w for forms in _PRONOUN_FORMS if forms & asked for w in forms)


# "Where...?" is answered by a place the sentence puts something in, at or to ("meeting in
# Vancouver"), not by one it mentions in passing ("nations that supported South Korea").
_AT = "in|at|to|near|outside|inside|into|from|across|on"
_AT_PLACE = re.compile(rf"\b({_AT})\s+(the\s+)?$", re.I)
PLACE_REACH = 6  # words from the question's word to its place ("meeting in Vancouver", "talks held in Canada")


_AT_NEAR = re.compile(rf"\b(?:{_AT})\s+(?:[\w'’-]+\s+){{0,2}}$", re.I)  # "just outside the capital Sarajevo"


def in_or_at(sentence: str, entities: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The entities the sentence puts something in, at, to... (two words may come between): "gathered in
    Vancouver", "outside the capital Sarajevo"; not "Broadway's biggest names"."""
    return [(text, label) for text, label in entities
            if text in sentence and _AT_NEAR.search(sentence.split(text)[0][-40:])]


def _placed(before: str, question_terms: set[str]) -> bool:
    """The text before a place puts something the question asks about in, at or to it: "20 nations
    meeting in Vancouver" places the meeting; "...days after a missile alert caused panic on Hawaii"
    places the panic, not the meeting (in an article about one meeting every sentence names a place)."""
    if not _AT_PLACE.search(before[-12:] + " "):
        return False
    return bool(question_terms & set(content_terms(" ".join(before.split()[-PLACE_REACH:]))))


# "Who sent the alert?" is answered by someone: a person, an organisation, a people ("Japanese
# officials") or a country that acts ("co-hosted by Canada", "France won"), not a country a sentence
# puts something in ("talks in Canada", "fears over North Korea's aggression").
AGENTS = frozenset({"PERSON", "ORG", "NORP"})
# Not re.I: the name must be capitalised ("Who is Taro Kono?", not "Who is hosting?").
_WHO_IS_NAMED = re.compile(r"^\s*[Ww]ho\s+(?:is|was|are|were)\s+(?:[A-Z][\w.'-]*\s*)+\??\s*$")
_WHO_FIRST = re.compile(r"^\s*who\b", re.I)
_LOCATIVE = re.compile(rf"\b({_AT}|over|of|around|throughout)\s+(the\s+)?$", re.I)


# "Who won / painted / filed...?" asks who did that; "Who is / was / will...?" says nothing of the deed.
_WHO_DID = re.compile(r"^\s*who\s+(?:[a-z]+ly\s+)?(?!(?:is|was|were|are|has|had|have|will|would|did|does|do|can|could|"
                      r"should|may|might|must)\b)([a-z][a-z-]*)\b")


def verb_of_who(question: str) -> str:
    """The stem of the verb of "Who <verb>...?" ("Who originally wrote...?" -> that of "wrote"), '' for other
    questions and for verbs that only shape one. An answer says it, or a word made from it ("winner",
    "painter", "director"): "Major League Baseball renamed the award" does not say who won it."""
    m = _WHO_DID.match(question.lower())
    return _deed(m.group(1)) if m else ""


def _deed(verb: str) -> str:
    """The verb's stem, or '' when it only shapes a question ("happened") or says nothing."""
    verb = stem(verb)
    return "" if verb in shaping_terms() or verb in stopwords() or len(verb) < 3 else verb


_WHICH_DID = re.compile(r"^\s*(?:which|what)\s+[a-z]+\s+([a-z-]+ed)\b")  # "Which countries co-hosted the meeting?"


def verb_of_which(question: str) -> str:
    """The stem of the past-tense verb of "Which <kind> <verb>ed...?", '' for other questions."""
    m = _WHICH_DID.match(question.lower())
    return _deed(m.group(1)) if m else ""


def deed_object(question: str, verb: str) -> str:
    """What "Who <verb>...?" asks about, its plain words after the verb: "meeting" of "Who hosted the
    Vancouver meeting?" ('' when there is none)."""
    tokens = question.rstrip(" ?").split()
    after = next((tokens[i + 1:] for i, t in enumerate(tokens) if stem(t.lower().strip(",")).startswith(verb)), [])
    stop = stopwords()
    return " ".join(t for t in after if t[:1].islower() and t.lower() not in stop)


def passive_deed(sentence: str, verb: str) -> str:
    """The thing a sentence says was <verb>ed by someone ("The gathering, co-hosted by Canada and the
    US" -> "gathering"; "the Olympics being hosted by the South" -> "Olympics"), '' when it says none."""
    m = re.search(rf"\b([A-Za-z]+)(?:['’]s?)?,?\s+(?:(?:being|been|was|were|is|are)\s+)?(?:co-)?{re.escape(verb)}\w*"
                  r"\s+by\s+(?:the\s+)?[A-Z]", sentence)
    return m.group(1) if m else ""


def asks_for_agent(question: str) -> bool:
    """"Who sent the alert?", "Who attended the meeting?"; not "Who is Taro Kono?", which asks what
    the one it names is, nor "How much has X, who has died, raised?"."""
    return bool(_WHO_FIRST.match(question)) and not _WHO_IS_NAMED.match(question)


# A story's dateline and wire credit ("SAN FRANCISCO –", "Colombo, Sri Lanka (CNN)", "David Rising
# Associated Press BERLIN –") say where it was filed and by whom, not who did what it reports.
_DATELINE = re.compile(
    r"^\s*(?:[^!?()]{0,60}?\((?:AP|CNN[\w ]*|Reuters|AFP|UPI)\)\s*[—–-]*\s*"
    r"|(?:[A-Z][\w.'’]*\s+|@\w+,?\s+){0,5}?[A-Z]{3,}(?:[ ,.]+[A-Z][A-Za-z.]*)*\s*[—–-]{1,2}\s+)")


def dateline(sentence: str) -> str:
    """The dateline or wire credit the sentence opens with ('' if none)."""
    m = _DATELINE.match(sentence)
    return m.group(0) if m else ""


def after_dateline(sentence: str, entities: list[tuple[str, str]]) -> tuple[str, list[tuple[str, str]]]:
    """The sentence without its opening dateline, and the entities named in the rest."""
    opening = dateline(sentence)
    if not opening:
        return sentence, entities
    rest = sentence[len(opening):]
    return rest, [(text, label) for text, label in entities if text in rest]


def names_an_agent(sentence: str, entities: list[tuple[str, str]], question_terms: set[str],
                   question_names: set[str]) -> bool:
    """The sentence names someone the question does not: a person, organisation or people, or a
    country not placed after "in", "over"... (`entities`: its named entities, from bot/entities.py),
    outside its dateline."""
    sentence, entities = after_dateline(sentence, entities)
    if new_entities(entities, AGENTS, question_terms, question_names):
        return True
    return any(not _LOCATIVE.search(sentence.split(place)[0][-16:])
               for place in new_entities(entities, frozenset({"GPE"}), question_terms, question_names))


MATCHED_CAP = 4
ENTITY_CONTEXT_WORDS = 2

FEATURES = (
    "dense", "overlap", "overlap_passage", "anchors", "new_value", "typed_missing",
    "new_name", "novelty", "article_rank", "headline", "lead", "consensus", "length", "overlap_rare",
    "quote_for_say", "matched", "typed_entity", "plain_overlap",
)
_SAY = re.compile(r"\b(say|said|says|tell|told|describe[sd]?|call(ed|s)?|warn(ed|s)?|quote[sd]?|react(ed)?|respond(ed)?)\b", re.I)
_QUOTE = re.compile(r"[\"“”]")
# The verbs that report someone's words ("she conceded that ..."), shared with bot/speakers.py.
REPORTING_VERBS = ("said", "says", "told", "added", "explained", "noted", "warned", "argued", "insisted", "stressed",
                   "conceded", "acknowledged", "admitted", "wrote")
# Indirect speech gives someone's words as well as a quote does: "But she conceded that ...".
_SPEECH_VERB = re.compile(rf"\b(?:{'|'.join(REPORTING_VERBS)}|urged)\b", re.I)
# A sentence that gives the words of the person the sentence before it introduced.
_THEIR_WORDS = re.compile(r"^\s*(?:[\"“]|(?:he|she|they)\s+(?:also\s+)?(?:said|says|added|told|warned|argued|insisted|noted|stressed)\b)", re.I)


_WHAT_DID_X_VERB = re.compile(
    r"^\s*(?:what|why)(?:\s+else)?\s+(?:did|does|do|has|have|had|will|would)\s+.+?\s+"
    r"(say|tell|urge|warn|ask|argue|insist|stress|suggest|propose|demand|announce|claim|promise|accuse|describe|"
    r"write|post|tweet|call|think|believe)\b", re.I)


def speech_word(question: str) -> str:
    """The speech verb of "What did X urge/say/warn...?" ('' for other questions): any report of X's
    words answers it, whichever verb the article uses."""
    m = _WHAT_DID_X_VERB.match(question)
    return m.group(1).lower() if m else ""


def asks_what_said(question: str) -> bool:
    return bool(_SAY.search(question))


def reports_words(sentence: str) -> bool:
    """The sentence quotes someone or says that someone spoke."""
    return bool(_QUOTE.search(sentence) or _SAY.search(sentence))


_THE_ROLE = re.compile(r"^\s*The\s+(?:[\w.'’-]+\s+){0,3}?([a-z]+)\s+(?:[a-z]+ed|said|says|is|was|has|had|will)\b")
_PRONOUN_SPEAKER = re.compile(r"\b(?:he|she)\s+(?:said|says|added|told|explained|noted)\b", re.I)


def opens_with_he_said(sentence: str) -> bool:
    """"He said the North ...": the speaker is named in the sentence before, which counts as this
    one's for the names it gives."""
    return bool(_HE_SAID.match(sentence))


_HE_SAID = re.compile(r"\s*(?:he|she)\s+(?:also\s+)?(?:said|says|added|told|noted|warned|argued)\b", re.I)


def attributed_to_pronoun(sentence: str) -> bool:
    """"'...a pretty big hit,' he said.": whose words they are is in an earlier sentence."""
    return bool(_PRONOUN_SPEAKER.search(sentence))


def refers_by_role(sentence: str) -> bool:
    """"The top U.S. diplomat urged...": a person the sentence names only by a role, whose name the
    sentence before gives."""
    m = _THE_ROLE.match(sentence)
    return bool(m) and m.group(1).lower() in PERSON_WORDS


def asks_who(question: str) -> bool:
    return bool(ASKS_PERSON.search(question.lower()))


_ASKS_AGE = re.compile(r"\bhow old\b|\bwhat age\b|\bat what age\b", re.I)
# "a 101-year-old man", "74 years old", "aged 79", "died at 79", "Santana, 74, ..." , "Kono (54)"
_AGE = re.compile(r"\b\d{1,3}[- ]years?[- ]old\b|\baged? \d{1,3}\b|\bat (?:the age of )?\d{1,3}\b|,\s\d{1,3},|\(\d{1,3}\)",
                  re.I)


def asks_age(question: str) -> bool:
    return bool(_ASKS_AGE.search(question))


def states_an_age(sentence: str) -> bool:
    return bool(_AGE.search(sentence))


# "How many people died in the flooding?" is answered by a toll, not by the 68 people stranded at a
# campground: a sentence with a number of dead, or one that says nobody died ("No deaths were reported").
_DEATH_WORDS = (r"(?:died|dies|die|dead|deaths?|deadly|killed|killing|kills?|fatalit(?:y|ies)|fatal|perished|"
                r"death toll|toll|bodies|slain|murdered)")
# Lives taken, not lives "put in danger" (a seed sentence about 152,110 people on flights).
_DEATH = re.compile(rf"\b{_DEATH_WORDS}\b|\b(?:claim|los|took|tak|cost)\w*\s+(?:[\w,]+\s+){{0,3}}lives\b", re.I)
_ASKS_DEATHS = re.compile(rf"\bhow many\b.*\b(?:{_DEATH_WORDS}|lives)\b", re.I)


def asks_deaths(question: str) -> bool:
    return bool(_ASKS_DEATHS.search(question))


def speaks_of_deaths(sentence: str) -> bool:
    return bool(_DEATH.search(sentence))


# "How long did the meeting last?" is answered by a stretch of time or a length ("two days", "for
# five years", "since 2015", "1.2 miles"), not by the date it happened on, nor "until it abandons...".
_ASKS_DURATION = re.compile(r"\bhow long\b", re.I)
_NUMBER_WORD = (r"(?:\d[\d,.]*|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
                r"forty|fifty|hundred|several|few|couple of|half an?)")
_DURATION = re.compile(
    rf"\b{_NUMBER_WORD}[\s-]+(?:(?:more|full|straight|consecutive|long|extra)\s+)?(?:seconds?|minutes?|hours?|days?|weeks?|"
    r"months?|years?|decades?|centuries|century|nights?|miles?|kilomet(?:er|re)s?|km|feet|foot|met(?:er|re)s?|inch(?:es)?|"
    r"yards?)\b|\bsince (?:\d|(?-i:(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\b))|\bovernight\b|"
    r"\ball (?:day|night|week|year)\b", re.I)


def asks_duration(question: str) -> bool:
    return bool(_ASKS_DURATION.search(question))


def states_a_duration(sentence: str) -> bool:
    return bool(_DURATION.search(sentence))


# "Bennett ousted Prime Minister Benjamin Netanyahu in June 2021, ending his 12 years in power": an
# amount that is "his" or "her" belongs to the last person named before it.
_THEIR_AMOUNT = re.compile(r"\b(?:his|her)\s+(?:[$€£]?\d|(?:one|two|three|four|five|six|seven|eight|nine|ten|"
                           r"eleven|twelve|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)\b)", re.I)


def amount_of_someone_else(sentence: str, entities: list[tuple[str, str]], people: list[set[str]],
                           money: bool = False) -> bool:
    """The sentence's "his"/"her" amount (or, for `money`, its first sum: "Caruso mounted a challenge,
    spending $40 million") belongs to a person other than those asked about (`people`: the words of
    each; `entities`: the sentence's named entities)."""
    m = _THEIR_AMOUNT.search(sentence) or (money and _MONEY.search(sentence))
    if not m or not people:
        return False
    before = sentence[: m.start()]
    named = [(before.rfind(text), text) for text, label in entities if label == "PERSON" and text in before]
    if not named:
        return False
    owner = set(content_terms(max(named)[1]))
    return not any(owner & person for person in people)


# "What price will Serbia pay...?", "How much did Ripley's pay...?", "What prize money...?": an amount
# of money, not any number ("a new three-year gas deal").
_ASKS_MONEY = re.compile(r"\bwhat (?:price|cost|fee|salary|prize money|sum)\b|\bhow much (?:money\b|(?:\S+\s+){0,10}?"
                         r"(?:pay|paid|pays|cost|costs|spend|spent|earn|earned|earns|charge|charged|charges|sell for|"
                         r"sold for|fetch|fetched|worth|raise|raised|raises|donate|donated|donates|owe|owed|owes)\b)", re.I)
_MONEY = re.compile(r"[$€£¥]\s?\d|\b\d[\d,.]*\s*(?:(?:million|billion|trillion|thousand|m|bn|k)\s+)?"
                    r"(?:dollars?|euros?|pounds?|cents?|pence|yen|yuan|rubles?|roubles?|francs?|rupees?|bucks)\b|"
                    r"\b(?:USD|EUR|GBP)\b")


def asks_money(question: str) -> bool:
    return bool(_ASKS_MONEY.search(question))


def states_money(sentence: str) -> bool:
    return bool(_MONEY.search(sentence))


_NAME_OF = re.compile(r"\bwhat(?: is|'s|’s| was| are| were) the names? of (?:the |a |an )?(.+?)\s*\??\s*$", re.I)
NAME_REACH = 4  # words between the named thing and its name ("Adelaide Cottage, a 'modest' property")


def named_thing(question: str) -> frozenset[str]:
    """"What was the name of the missile North Korea tested?": the words of the thing to be named,
    without the question's own names ({"missile", "test"}); empty for other questions."""
    m = _NAME_OF.search(question)
    if not m:
        return frozenset()
    names = values_of(question, "name")
    return frozenset(t for t in content_terms(m.group(1)) if t not in names)


def names_the_thing(sentence: str, thing: frozenset[str], question_terms: set[str]) -> bool:
    """The sentence gives a name the question does not, within NAME_REACH words of the thing: "move
    into Adelaide Cottage, a modest property" names the property; "the November test of a missile
    sparked a war of words between Trump and Kim" names people, not the missile."""
    tokens = sentence.split()
    at_thing = [i for i, tok in enumerate(tokens) if set(content_terms(tok)) & thing]
    # The sentence's first word is capitalised anyway (after a bullet or a time: "• 11:27: Video shows").
    first = next((i for i, tok in enumerate(tokens) if tok[:1].isalpha()), 0)
    capitalised = [i > first and tok[:1].isupper() for i, tok in enumerate(tokens)]
    for i, tok in enumerate(tokens):
        if not capitalised[i]:
            continue
        end = i  # the last word of this run of capitalised words
        while end + 1 < len(tokens) and capitalised[end + 1] and not tokens[end].endswith((",", ".")):
            end += 1
        if tokens[end].endswith(("'s", "’s")):  # "North Korea's missile": its owner, not its name
            continue
        if end + 1 < len(tokens) and _SPEECH_VERB.fullmatch(tokens[end + 1].strip(".,;:")):
            continue  # "...propping open a school door, McCraw said Friday": who says it, not its name
        term = set(content_terms(tok))
        if re.fullmatch(_DAY_OR_MONTH, tok.strip(".,;:'’\"").lower()):  # "said Thursday a Navy Yard employee"
            continue
        if term and not term & question_terms and any(abs(i - j) <= NAME_REACH for j in at_thing):
            return True
    return False


def names_a_person(sentence: str) -> bool:
    (found,) = default_tagger().entities([sentence])
    return any(label == "PERSON" for _, label in found)


# "What is Rex Tillerson's job?", "What position does Winston Peters hold?", "What does Stephen Noerper
# do?": news gives a person's role as a title before the name ("Secretary of State Rex Tillerson"),
# which is what "Who is Rex Tillerson?" finds; the role word itself is rarely written.
_ROLE_NOUN = r"(?:job|title|position|role|post|occupation|profession)"
_NAME = r"((?:[A-Z][\w.'’-]*\s+){0,3}[A-Z][\w.'’-]*?)"
_ROLE_OF_PERSON = (
    re.compile(rf"^\s*what(?:['’]s|\s+is|\s+was)\s+{_NAME}['’]s?\s+(?:current\s+|new\s+|official\s+)?{_ROLE_NOUN}"
               r"\s*\??\s*$", re.I),
    re.compile(rf"^\s*what(?:['’]s|\s+is|\s+was)\s+the\s+{_ROLE_NOUN}\s+of\s+{_NAME}\s*\??\s*$", re.I),
    re.compile(rf"^\s*what\s+{_ROLE_NOUN}\s+(?:does|did)\s+{_NAME}\s+(?:hold|have|occupy)\s*\??\s*$", re.I),
    re.compile(rf"^\s*what\s+does\s+{_NAME}\s+do(?:\s+for\s+a\s+living)?\s*\??\s*$", re.I),  # not "did": deeds
)
_PLACE_OR_BODY = frozenset({"GPE", "LOC", "ORG", "NORP", "FAC"})


def as_who_is(question: str) -> str:
    """A question for a person's role read as "Who is <person>?"; any other question unchanged. Not
    for a country's or a body's role ("What is Canada's role?" asks what it does, not who it is)."""
    for form in _ROLE_OF_PERSON:
        m = form.match(question)
        if m and m.group(1)[0].isupper():
            name = m.group(1)
            (found,) = default_tagger().entities([question])
            found = [(re.sub(r"['’]s?$", "", text), label) for text, label in found]
            person = any(label == "PERSON" and (text in name or name in text) for text, label in found)
            other = any(label in _PLACE_OR_BODY and text == name for text, label in found)
            if person or (not other and len(name.split()) >= 2):
                return f"Who is {name}?"
    return question


def gives_their_words(sentence: str) -> bool:
    """"He said the North ...", "She added that ...", or an opening quote."""
    return bool(_THEIR_WORDS.match(sentence))


def rarity(candidate_texts: list[str]) -> dict[str, float]:
    """Inverse document frequency of each word over the candidate sentences: a question word that
    few candidates share tells them apart; one that all share (the topic) does not."""
    n = len(candidate_texts)
    df: dict[str, int] = {}
    for text in candidate_texts:
        for term in set(content_terms(text)):
            df[term] = df.get(term, 0) + 1
    return {t: math.log((n + 1) / (c + 0.5)) for t, c in df.items()}


# Not "He said ...": whose words they are is the speaker rules' business (the answer then opens with
# the sentence naming him, `answer.with_the_speaker`).
_SUBJECT_PRONOUN = re.compile(r"^\s*(?:(?:But|And|Yet|Still|However|Instead),?\s+)?(?:He|She|They|he|she|they)\s+"
                              r"(?!(?:also\s+)?(?:said|says|added|told)\b)")


def features(q: QuestionInfo, sentence: str, window: str, passage_text: str, article_rank: int,
             position: int, dense: float, others: list[set[str]] = (),
             idf: dict[str, float] | None = None, article_terms: set[str] | None = None,
             entities: list[tuple[str, str]] = ()) -> list[float]:
    """The feature vector (in FEATURES order) of one candidate sentence.

    `article_terms`: the content words of the sentence's whole article (where the question's names
    and numbers are looked for: a story names its subject once, near the top).
    `others`: the content words of each other retrieved article; a name or number that other
    reports repeat is more likely the answer (independent sources agree on facts, not on filler).
    `entities`: the sentence's named entities, (text, label), from `bot/entities.py`.
    """
    # "But she conceded..." answers "What did she concede?" about Kang Kyung-wha: the sentence's own
    # "she" stands for the name the question borrowed from the earlier turn, when the sentence before
    # names that person (otherwise the "she" is likely someone else).
    refers_back = q.pronouns & set(words(sentence)) and set(content_terms(q.referent)) & set(content_terms(window))
    term_text = f"{sentence} {q.referent}" if refers_back else sentence
    # "They landed at Andrews Air Force Base" after "Prince Charles and Camilla arrived in Washington":
    # a sentence whose subject is "he", "she" or "they" is about the names of the sentence before.
    # "He said the North wants..." too, for "What did Taro Kono say North Korea wants?" (the answer
    # then opens with the sentence naming him, `answer.with_the_speaker`).
    if (_SUBJECT_PRONOUN.match(sentence) or (q.speech_word and _PRONOUN_SPEAKER.match(sentence))) \
            and len(window) > len(sentence):
        before = window[: len(window) - len(sentence)]
        term_text += " " + " ".join(m.group(0) for m in _CAPITALISED.finditer(before))
    # Years of "the 1950-53 Korean War" for a when-question about something else: not its answer.
    named_years = event_years(sentence, q.term_set) if q.kind == "date" else set()
    new_typed = 0.0
    typed_missing = 0.0
    if q.kind:
        typed_text = window if q.kind == "name" and opens_with_he_said(sentence) else sentence
        new = values_of(typed_text, q.kind) - values_of(q.text, q.kind) - q.term_set - named_years
        if new and q.counted:  # "how many missiles": a number of flights or people does not answer it
            new = counts_of(sentence, q.counted) - values_of(q.text, "number")
        new_typed = 1.0 if new else 0.0
        typed_missing = 1.0 - new_typed
    # "Which countries...?" is answered by "China and Russia": naming one stands for the kind's word,
    # in a sentence about the question (a list of attending nations does not say who was not invited).
    s_terms = set(content_terms(term_text))
    about = q.term_set & s_terms
    credited = f" {q.kind_word}" if q.kind_word and new_typed and about - {stem(q.kind_word)} else ""
    # "What did Freeland urge?" asks for her words: "Freeland told those gathering that nations must..."
    # gives them in another speech verb.
    if q.speech_word and about - {stem(q.speech_word)} and reports_words(window):
        credited += f" {q.speech_word}"
    if asks_age(q.text) and states_an_age(sentence):  # "the 67-year-old Abe" says how old he is
        credited += " old"
    term_text += credited
    s_terms |= set(content_terms(credited))
    shared = len(q.term_set & s_terms)  # how many of the question's words the sentence holds
    passage_terms = set(content_terms(passage_text)) | set(content_terms(window))
    anchors = q.anchors
    where = (article_terms or set()) | passage_terms
    anchor_share = len({a for a in anchors if a in where or a in passage_text.lower()}) / len(anchors) if anchors else 1.0
    new_names = values_of(sentence, "name") - q.names - q.term_set
    new_values = (new_names | values_of(sentence, "number")) - q.term_set
    agreeing = max((sum(1 for o in others if v in o) for v in new_values), default=0)
    novelty = len(s_terms - q.term_set) / len(s_terms) if s_terms else 0.0
    headline = 1.0 if is_headline(sentence) else 0.0
    # A named entity of the asked kind ("which country" -> a place) that the question does not name,
    # in a sentence about the question (two of its words at least: a list of nations holding
    # "Australia" does not answer "What is the capital of Australia?"). Finer than `new_value`,
    # which takes any capitalised word for a name.
    typed_entity = 0.0
    if q.entity_labels and shared >= min(ENTITY_CONTEXT_WORDS, len(q.term_set)):
        found = new_entities(entities, q.entity_labels, q.term_set, q.names)
        if named_years:
            found = [e for e in found if not set(_YEAR.findall(e)) & named_years]
        if found and ASKS_PLACE.search(q.text.lower()):
            found = [e for e in found if _placed(sentence.split(e)[0], q.term_set)]
        if not found and q.kind_word in COUNTRY_WORDS:  # "Japanese Foreign Minister" for "which country's"
            nationality = nationality_of(sentence, entities, q.term_set)
            found = [nationality] if nationality else []
        typed_entity = 1.0 if found else 0.0
    return [
        dense,
        coverage(q.terms, term_text),
        coverage(q.terms, window + " " + passage_text + credited),
        anchor_share,
        new_typed,
        typed_missing,
        min(len(new_names), 3) / 3,
        novelty,
        1.0 / article_rank,
        headline,
        1.0 / (1.0 + position / 3),
        min(agreeing, 3) / 3,
        min(len(s_terms), 40) / 40,
        weighted_coverage(q.term_set, s_terms, idf or {}),
        1.0 if q.asks_quote and (_QUOTE.search(sentence) or _SPEECH_VERB.search(sentence)) else 0.0,
        # How many question words it holds, not only what share: one word of a two-word question
        # ("capital of Australia") is half the question but little evidence.
        min(shared, MATCHED_CAP) / MATCHED_CAP,
        typed_entity,
        # The share of what the question asks about its names ("favourite food" of "What is Kim Jong
        # Un's favourite food?") that the sentence or the one before holds: a sentence about Kim Jong
        # Un holds his name, which alone says nothing of his food.
        coverage(q.plain_terms, window + credited) if q.plain_terms else 1.0,
    ]


_HOW_MANY = re.compile(r"\bhow many ((?:[a-z][\w-]*\s+){1,2})", re.I)
COUNT_REACH = 3  # words between a number and the thing it counts ("20 nations", "716 international flights")


def counted_words(question: str) -> list[str]:
    """What a "how many" question counts: the (up to) two content words after "how many"."""
    m = _HOW_MANY.search(question)
    return content_words(m.group(1)) if m else []


def counted_things(question: str) -> set[str]:
    """The stems of `counted_words`."""
    return {stem(w) for w in counted_words(question)}


def _after_numbers(tokens: list[str]):
    """(number, the few words after it) for each number among the tokens."""
    for i, token in enumerate(tokens):
        if _NUMBER.fullmatch(token):
            yield token, tokens[i + 1 : i + 1 + COUNT_REACH]


def counts_of(sentence: str, counted: set[str]) -> set[str]:
    """Numbers in the sentence followed, within a few words, by one of the counted things."""
    return {number.replace(",", "") for number, after in _after_numbers(words(sentence))
            if any(stem(w) in counted for w in after)}


def words_after_numbers(sentences: list[str]) -> set[str]:
    """The content words that follow numbers in these sentences: what they count."""
    stop = stopwords()
    return {w for s in sentences for _, after in _after_numbers(words(s)) for w in after
            if w not in stop and not _NUMBER.fullmatch(w)}


def weighted_coverage(wanted: set[str], found: set[str], idf: dict[str, float]) -> float:
    """Share of the question's words in the sentence, each weighted by its rarity among candidates;
    a word no candidate holds weighs the most."""
    if not wanted:
        return 0.0
    top = max(idf.values(), default=1.0)
    weights = {t: idf.get(t, top) for t in wanted}
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in found) / total if total else 0.0


_TITLE_WORD = re.compile(r"[A-Za-z][\w'’.-]*")
_TITLE_CASE_SMALL = frozenset({"a", "an", "and", "at", "by", "for", "from", "in", "of", "on", "or", "the", "to", "with"})


def is_headline(sentence: str) -> bool:
    """No closing punctuation, or every word capitalised ("Sajid Javid Former Health Secretary Sajid
    Javid."): a headline, caption fragment or list item rather than a statement."""
    if not re.search(r"[.!?\"”’')]\s*$", sentence):
        return True
    found = _TITLE_WORD.findall(sentence)
    return len(found) >= 3 and all(w[0].isupper() or w.lower() in _TITLE_CASE_SMALL for w in found)


def is_question(sentence: str) -> bool:
    """Ends with a question mark (inside closing quotes too): it asks, it does not state."""
    return bool(re.search(r"\?[\"”’')\]]*\s*$", sentence))


def logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, x))))
