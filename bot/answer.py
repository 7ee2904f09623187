"""The answer path shared by the CLI, the app and `bot eval`: question -> retrieval -> gate -> answer.

The pipeline, not the model, guarantees grounding: retrieval plus the evidence gate decide whether the
corpus answers at all; the default answer is built from retrieved sentences; a generator's answer is
shown only after the citation verifier has checked every sentence.
"""

from __future__ import annotations

import re
import threading
import time
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator, Sequence

from bot.answer_model import DEFAULT, AnswerModel
from bot.answer_types import Answer, Citation, QuestionError
from bot.config import Settings, get_settings
from bot.conflicts import find_conflict
from bot.evidence import Passage, Sentence, candidate_sentences, passages_from, score_sentences
from bot.models import ModelConfigError, make_embed_model
from bot.sentence_features import (
    ELLIPTICAL_TERMS, as_who_is, asks_what_said, asks_which_article, asks_who, attributed_to_pronoun, core_question,
    expected_answer_type, gives_their_words, is_headline, is_question, names_a_person, refers_by_role,
    reports_words, with_the_person_named, without_own_pronouns,
)
from bot.prompts import load_prompt
from bot.retrieve import Retriever
from bot.spelling import Speller, vocabulary_stamp
from bot.store import Store, open_store
from bot.text import Span, content_terms, split_sentences
from bot.verify import addressed_to_model

History = Sequence[tuple[str, str]]
HEADLINE_YIELDS_TO = 0.5  # share of the gate's bar a statement needs to answer instead of a headline
# Share of the gate's bar a sentence after the first needs: once the gate has decided to answer, a
# second sentence nearly as likely adds the answer more often than a wrong citation (DECISIONS.md 5).
EXTRA_SENTENCE_SHARE = 0.9
PRONOUN_LOOKBACK_TURNS = 3  # turns searched back for the person a follow-up's "he"/"she" means
REPEAT_YIELDS_TO = 0.5  # share of the likeliest repeat a fresh sentence needs to go first in a follow-up
_FOLLOW_UP = re.compile(
    r"\b(he|she|they|it|its|his|her|hers|their|them|him|this|that|these|those|there|then|the same|"
    r"next|else|other|another|also)\b",
    re.I,
)
_MARKERS = re.compile(r"\s*\[\d+\]")
# "What else did he say?", "Anything more?", "Who else was there?": asks past what was already quoted.
_ASKS_ELSE = re.compile(r"\b(?:else|anything more|any more|what more)\b", re.I)


def check_question(question: object, max_chars: int, follow_up: bool = False) -> str:
    """The question, cleaned; or a QuestionError that says what is wrong with it.

    `follow_up`: there is a conversation, so "Why?" or "Where was it?" (no word to search for of its
    own) is asked about the earlier turn."""
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    cleaned = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\n\t" else ch for ch in question
    )
    cleaned = re.sub(r"\s+", " ", cleaned).strip()
    if not cleaned:
        raise QuestionError("the question is empty: type a question about the articles")
    if len(cleaned) > max_chars:
        raise QuestionError(
            f"the question is {len(cleaned):,} characters long; the limit is {max_chars:,} "
            "(BOT_MAX_QUESTION_CHARS). Ask it in fewer words."
        )
    if not content_terms(cleaned) and not (follow_up and any(ch.isalpha() for ch in cleaned)):
        if any(ch.isalpha() and not ch.isascii() for ch in cleaned):  # e.g. Chinese: no word the search can use
            raise QuestionError(
                "the question has no words the search can use: it reads words in Latin letters, and the "
                "articles are in English; ask in English"
            )
        raise QuestionError("the question has no words to search for: ask about a person, place or event")
    return cleaned


def retrieval_query(question: str, history: History | None) -> str:
    """Fold the conversation into the retrieval query when the question leans on it.

    Written here (not a LlamaIndex condense step) because that step needs an LLM, and the default
    answerer has none; a generator answerer uses the LLM condense prompt instead.
    """
    if not history:
        return question
    last_question, last_answer = history[-1]
    # A word pointing back ("When did he announce it?") or almost no word of its own ("Why?", "And
    # Tillerson?"). A short question with words of its own is a new topic ("When did the Webb
    # telescope launch?" after a turn about Sri Lanka): folding the old turn in would retrieve that.
    leans_on_history = (_FOLLOW_UP.search(without_own_pronouns(question))
                        or len(content_terms(question)) <= ELLIPTICAL_TERMS)
    if not leans_on_history:
        return question
    return f"{question} {last_question} {_MARKERS.sub('', last_answer)[:400]}".strip()


def named_from_conversation(question: str, history: History) -> str:
    """The follow-up with its "he"/"she" named by the latest of the last few turns that names someone:
    "What did he tell VOA?" after "Who is Stephen Noerper?" and a refused turn about him."""
    for asked, answer in reversed(history[-PRONOUN_LOOKBACK_TURNS:]):
        named = with_the_person_named(question, asked, answer)
        if named != question:
            return named
    return question


def earlier_question(history: History | None) -> str:
    """The conversation's last question, back to the last one with words of its own: "Who sent it?"
    after "What happened in Hawaii?" and "When was it?" asks about what happened in Hawaii."""
    asked: list[str] = []
    for question, _ in reversed(history or []):
        asked.insert(0, question)
        if content_terms(question):
            break
    return " ".join(asked)


# NLTK (stopwords, sentence tokenizer) fails to import when several threads load it at once
# (ImportError: partially initialized module 'nltk.tokenize'): the first questions of
# simultaneous browser sessions did.
_FIRST_USE = threading.Lock()


@dataclass
class Evidence:
    question: str  # the question as read: a follow-up's "he"/"she" replaced by the person meant
    query: str  # the retrieval query (the question with the conversation folded in)
    passages: list[Passage]  # every retrieved chunk, best article first
    answer_passages: list[Passage]  # the top-k the answer is drawn from
    scored: list[Sentence]  # their sentences, best answer first
    retrieved_ms: float


class QA:
    """Answers questions over one store. Thread-safe; build once and share."""

    def __init__(self, settings: Settings | None = None, store: Store | None = None, embed_model=None):
        self.settings = settings or get_settings()
        self.embed_model = embed_model or make_embed_model(self.settings)
        self.store = store or open_store(self.settings, self.embed_model)
        self.retriever = Retriever(self.store, self.embed_model, self.settings)
        self.refusal = load_prompt("refusal")
        self.answer_model = load_answer_model(self.settings)
        self.conflict_note = load_prompt("conflict_note")
        self.which_article = load_prompt("which_article")
        self._speller: Speller | None = None
        self._speller_stamp: object = None
        self._speller_lock = threading.Lock()
        with _FIRST_USE:  # NLTK loads here, one thread at a time, not in simultaneous first questions
            split_sentences(" ".join(content_terms("Warm up the stopwords. And the sentence tokenizer.")))

    # --- public API
    def answer(self, question: str, history: History | None = None, **options) -> Answer:
        result = None
        for item in self.stream(question, history, **options):
            if isinstance(item, Answer):
                result = item
        assert result is not None
        return result

    def stream(
        self, question: str, history: History | None = None, *, top_k: int | None = None,
        strictness: float = 1.0, as_of: object = None,
    ) -> Iterator[str | Answer]:
        """Yield pieces of the answer text as they are ready, then the finished Answer.

        `as_of`: the date the question is asked on (YYYY-MM-DD); newer articles near it rank higher.
        Default: the newest article's date in the store."""
        started = time.perf_counter()
        asked = check_question(question, self.settings.max_question_chars, follow_up=bool(history))
        question, corrections = self._spelling(asked)
        if history:  # earlier turns are kept as typed; a follow-up folds in the corrected words
            history = [(self._spelling(q)[0], a) for q, a in history]
        ev = self.evidence(question, history, top_k=top_k, as_of=as_of)
        question = ev.question  # a follow-up's "she" named, as the evidence read it
        answer_passages, query = ev.answer_passages, ev.query
        scored = _new_before_repeated(ev.scored, history, self.settings.min_answer_probability * strictness)
        asks_else = bool(history) and bool(_ASKS_ELSE.search(asked))
        if asks_else:  # "What else did he say?": nothing already quoted
            scored = _not_yet_quoted(scored, history)
        retrieved = list(dict.fromkeys(p.source for p in ev.passages))
        retrieved_ms = ev.retrieved_ms

        answer = Answer(question=asked, text="", retrieved=retrieved, query=query, corrections=corrections)
        if corrections:
            fixed = ", ".join(f"{a} -> {b}" for a, b in corrections.items())
            answer.notes.append(f"Searched for: {question} (spelling as in the articles: {fixed})")
        if not self._passes_gate(scored, strictness):
            answer.refused = True
            answer.text = self.refusal
            answer.closest = self._closest(scored, answer_passages)
            yield answer.text
        elif self.settings.answerer != "extractive":  # a generator writes it; only verified sentences show
            from bot.generate import generate

            yield from generate(self, question, answer_passages, answer, scored)
        else:
            chosen = self._choose(scored)
            asked = core_question(question)  # "In the article naming Kono, what did he say?"
            what_said = _asks_what_said(asked, history)
            if what_said:
                chosen = with_their_words(chosen, self._article_sentences, self.settings.max_answer_sentences)
            # "He said the North wants..." is shown after the sentence naming him, for "Who said...?"
            # (he is the answer) and for "What did Kono say...?" (who "he" is).
            if asks_who(asked) or what_said:
                chosen = with_the_speaker(chosen, self._article_sentences, self.settings.max_answer_sentences)
            if asks_else:  # nor the words after a new sentence, when an earlier answer gave them
                chosen = _not_yet_quoted(chosen, history) or chosen
            pieces = []
            if asks_which_article(asked):  # "Which report says...?": the article's name, from its metadata
                pieces.append(self._article_named(chosen[0].passage))
                yield pieces[0] + " "
            for n, sentence in enumerate(chosen, start=1):
                answer.citations.append(Citation.from_sentence(n, sentence))
                piece = f"{sentence.text} [{n}]"
                pieces.append(piece)
                yield piece if n == 1 else " " + piece
            note = self._conflict_note(question, scored, answer)
            if note:
                pieces.append(note)
                yield " " + note
            answer.text = " ".join(pieces)
        answer.timings = {
            "retrieve_ms": round(retrieved_ms, 1),
            "total_ms": round((time.perf_counter() - started) * 1000, 1),
        }
        yield answer

    def evidence(self, question: str, history: History | None = None, *, top_k: int | None = None,
                 as_of: object = None) -> "Evidence":
        """Retrieval and the scored candidate sentences for a (checked) question; `bot calibrate` uses
        it too, so the weights are fitted on exactly what the answerer sees."""
        started = time.perf_counter()
        k = top_k or self.settings.top_k
        if history:  # "Who is he?" after a turn about Tillerson is read as "Who is Tillerson?"
            question = named_from_conversation(question, history)
        question = as_who_is(question)  # "What is Rex Tillerson's job?" -> "Who is Rex Tillerson?"
        query = retrieval_query(question, history)
        if history and self.settings.answerer != "extractive":  # a generator: LlamaIndex's condense step
            from bot.generate import condense_query

            query = condense_query(self, question, history, fallback=query)
        nodes = self.retriever.retrieve(query, as_of=as_of)
        retrieved_ms = (time.perf_counter() - started) * 1000
        passages = passages_from(nodes)
        answer_passages = passages[:k]
        candidates = candidate_sentences(answer_passages)
        # A sentence addressed to a model (a prompt injection in an article) is never an answer either.
        candidates = [c for c in candidates if not addressed_to_model(c.text)]
        scored = score_sentences(question, query, candidates, self.embed_model, retrieved=passages,
                                 article_sentences=self._article_sentences, model=self.answer_model,
                                 earlier_question=earlier_question(history))
        return Evidence(question, query, passages, answer_passages, scored, retrieved_ms)

    def _spelling(self, question: str) -> tuple[str, dict[str, str]]:
        """The question with words the articles never use corrected to their spelling, and the changes."""
        if not self.settings.spelling:
            return question, {}
        stamp = vocabulary_stamp(self.store.folder)
        with self._speller_lock:  # reloaded after an ingest has rewritten the vocabulary
            if self._speller is None or stamp != self._speller_stamp:
                self._speller, self._speller_stamp = Speller.load(self.store.folder), stamp
            speller = self._speller
        return speller.correct(question)

    # --- the evidence gate and the extractive answerer
    def _passes_gate(self, scored: list[Sentence], strictness: float) -> bool:
        """Some sentence is likely enough to hold the answer (strictness scales the bar)."""
        bar = min(1.0, self.settings.min_answer_probability * strictness)
        return any(s.score >= bar for s in scored)

    def _choose(self, scored: list[Sentence]) -> list[Sentence]:
        return choose_sentences(scored, self.settings.min_answer_probability, self.settings.max_answer_sentences)

    def _conflict_note(self, question: str, scored: list[Sentence], answer: Answer) -> str:
        """When strong sentences of different articles give different values for the asked number or
        date, say so and cite each (with its article's date); otherwise ''."""
        bar = self.settings.min_answer_probability
        conflict = find_conflict(question, expected_answer_type(question), [s for s in scored if s.score >= bar], bar)
        if conflict is None:
            return ""
        cited = {(c.doc_id, c.start): c.n for c in answer.citations}
        parts = []
        for value, sentence in conflict.items:
            key = (sentence.passage.doc_id, sentence.span.start)
            if key not in cited:
                cited[key] = len(answer.citations) + 1
                answer.citations.append(Citation.from_sentence(cited[key], sentence))
            citation = answer.citations[cited[key] - 1]
            parts.append(f"{value} [{cited[key]}] ({citation.date or 'no date'})")
        return f"{self.conflict_note} {'; '.join(parts)}."

    def _article_named(self, passage: Passage) -> str:
        meta = passage.metadata
        return self.which_article.format(title=meta.get("title") or passage.source, source=passage.source,
                                         date=meta.get("date") or "no date")

    def _article_sentences(self, doc_id: str) -> list[Span]:
        article = self.store.article(doc_id)
        return _sentences_of(article.text) if article is not None else []

    @staticmethod
    def _closest(scored: list[Sentence], passages: list[Passage]) -> list[Citation]:
        seen, out = set(), []
        for s in scored:
            if s.passage.doc_id in seen:
                continue
            seen.add(s.passage.doc_id)
            out.append(Citation.from_sentence(len(out) + 1, s))
            if len(out) == 3:
                break
        return out


@lru_cache(maxsize=512)
def _sentences_of(text: str) -> list[Span]:
    return split_sentences(text)


def load_answer_model(settings: Settings) -> AnswerModel:
    """The built-in answer model, or the one `bot calibrate` wrote (BOT_ANSWER_MODEL)."""
    if settings.answer_model is None:
        return DEFAULT
    try:
        return AnswerModel.load(settings.answer_model)
    except (OSError, ValueError) as err:  # JSONDecodeError is a ValueError
        raise ModelConfigError(f"cannot use BOT_ANSWER_MODEL={settings.answer_model}: {err}") from None


def choose_sentences(scored: list[Sentence], bar: float, max_sentences: int) -> list[Sentence]:
    """The best-ranked statement, then the next sentences that (nearly) clear the gate's bar.

    The first sentence clears the bar itself when some statement does (the ranker may prefer
    one the gate finds less likely: the answer shows what the gate vouched for). A headline
    names a story but does not state its facts, and a question in an article (a quiz, a
    headline's "Who will...?") is evidence of the topic, not an answer: when only such a
    sentence clears the bar, the best statement near it (at least half) answers; the headline
    only if none is."""
    statements = [s for s in scored if not is_question(s.text)] or scored
    facts = [s for s in statements if not is_headline(s.text)]
    best = next((s for s in facts if s.score >= bar), None) or next(
        (s for s in facts if s.score >= bar * HEADLINE_YIELDS_TO), statements[0])
    chosen = [best]
    for s in statements:
        if s is best:
            continue
        if len(chosen) >= max_sentences:
            break
        if s.score < bar * EXTRA_SENTENCE_SHARE:
            continue
        if any(_near_duplicate(s.text, c.text) for c in chosen):
            continue
        chosen.append(s)
    return chosen


def _holds(sentences: list[Sentence], doc_id: str, span: Span) -> bool:
    return any(s.passage.doc_id == doc_id and s.span.start == span.start for s in sentences)


def _asks_what_said(question: str, history: History | None) -> bool:
    """The question, or the earlier one it stands on: "And Japan?" after "What did she say?"."""
    if asks_what_said(question):
        return True
    return bool(history) and len(content_terms(question)) <= ELLIPTICAL_TERMS and asks_what_said(history[-1][0])


def with_their_words(chosen: list[Sentence], article_sentences, max_sentences: int) -> list[Sentence]:
    """For "What did X say?": a chosen sentence that only introduces the speaker ("Japanese Foreign
    Minister Taro Kono was blunter.") is followed by the next sentence of its article when that one
    gives the words ("He said the North ..."), which shares no name with the question and so
    ranks low on its own."""
    def words_after(s: Sentence) -> tuple[str, Span] | None:
        if reports_words(s.text):
            return None
        after = next((sp for sp in article_sentences(s.passage.doc_id) if sp.start >= s.span.end), None)
        if after is not None and after.start - s.span.end <= 3 and gives_their_words(after.text):
            return "after", after
        return None

    return _with_neighbours(chosen, max_sentences, words_after)


def with_the_speaker(chosen: list[Sentence], article_sentences, max_sentences: int) -> list[Sentence]:
    """For "Who said ...?": a chosen quote that names its speaker only as "he"/"she" ("'...lives and
    dies by tourism,' he said.") or by a role ("The top U.S. diplomat urged...") is preceded by the
    sentence before it in its article when that one names a person, who is then the answer."""
    def speaker_before(s: Sentence) -> tuple[str, Span] | None:
        if not (attributed_to_pronoun(s.text) or refers_by_role(s.text)) or names_a_person(s.text):
            return None
        before = next((sp for sp in reversed(article_sentences(s.passage.doc_id)) if sp.end <= s.span.start), None)
        if before is not None and s.span.start - before.end <= 3 and names_a_person(before.text):
            return "before", before
        return None

    return _with_neighbours(chosen, max_sentences, speaker_before)


def _with_neighbours(chosen: list[Sentence], max_sentences: int, neighbour) -> list[Sentence]:
    """The chosen sentences in order, each with the article neighbour `neighbour(s)` names
    (("before" | "after", span) or None) when there is room for both; no sentence twice."""
    out: list[Sentence] = []

    def add(s: Sentence) -> None:
        if len(out) < max_sentences and not _holds(out, s.passage.doc_id, s.span):
            out.append(s)

    for s in chosen:
        if len(out) >= max_sentences:
            break
        if _holds(out, s.passage.doc_id, s.span):
            continue
        found = neighbour(s) if len(out) + 1 < max_sentences else None
        extra = Sentence(passage=s.passage, span=found[1], score=s.score) if found else None
        if extra is not None and found[0] == "before":
            add(extra)
        add(s)
        if extra is not None and found[0] == "after":
            add(extra)
    return out


def _new_before_repeated(scored: list[Sentence], history: History | None, bar: float) -> list[Sentence]:
    """A follow-up asks for something the last answer did not say ("And Tillerson?" after "Who is
    Chrystia Freeland?"): the sentences that answer quoted go after the others, when another
    sentence clears the gate's bar on its own and is at least REPEAT_YIELDS_TO as likely as the
    likeliest repeat (otherwise the repeat is the answer: "What did she say nations must improve?"
    after an answer that quoted it)."""
    if not history:
        return scored
    said = _MARKERS.sub("", history[-1][1])
    repeated = [s for s in scored if s.text in said]
    fresh = [s for s in scored if s.text not in said]
    if not repeated:
        return scored
    best_fresh = max((s.score for s in fresh), default=0.0)
    if best_fresh < bar or best_fresh < REPEAT_YIELDS_TO * max(s.score for s in repeated):
        return scored
    return fresh + repeated


def _not_yet_quoted(scored: list[Sentence], history: History) -> list[Sentence]:
    """The sentences no earlier answer of the conversation quoted."""
    said = " ".join(_MARKERS.sub("", answer) for _, answer in history)
    return [s for s in scored if s.text not in said]


def _near_duplicate(a: str, b: str) -> bool:
    ta, tb = set(content_terms(a)), set(content_terms(b))
    if not ta or not tb:
        return False
    return len(ta & tb) / min(len(ta), len(tb)) >= 0.7
