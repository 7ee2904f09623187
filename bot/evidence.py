"""Candidate answer sentences from retrieved chunks, scored against the question.

The extractive answerer, the evidence gate and the citation verifier all work on these sentences, so
every quote carries its article and its character offsets in the article text.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
from llama_index.core.schema import NodeWithScore

from bot.answer_model import DEFAULT, AnswerModel
from bot.entities import (ASKS_PLACE, COUNTRY_WORDS, NAMED_KINDS, ORGANISATION, default_tagger, nationality_of,
                          new_entities)
from bot.sentence_features import (
    FEATURES, QuestionInfo, after_dateline, amount_of_someone_else, asks_age, asks_deaths, asks_duration,
    asks_for_agent, asks_money, core_question, counted_words, deed_object, features, gives_their_words, holds_role,
    in_or_at, name_groups, names_an_agent, names_role, named_thing, names_the_thing, opens_with_he_said,
    passive_deed, rarity, refers_to_one_person, role_asked, shaping_terms, speaks_of_deaths, states_a_duration,
    states_an_age, states_money, verb_of_which, verb_of_who, weighted_coverage, words_after_numbers,
)
from bot.speakers import aliases, quotes_someone_else, role_holders, speaker_asked, speaker_role, speaks
from bot.text import Span, content_terms, coverage, split_sentences, stem, without_promotion

MAX_CANDIDATES = 24  # sentences embedded per question; bounds latency (eval unchanged from 6 to 48)
# "gathering" is 0.69 from "meeting", "talks" 0.57, "conference" 0.54; "Olympics" 0.22, "game" 0.36 (MiniLM)
DEED_THING_SIMILARITY = 0.45
CONSENSUS_ARTICLES = 10  # retrieved articles checked for repeats of a sentence's names and numbers
# "Who is Canada's foreign minister?": a sentence where Canada qualifies the role ("Canadian Foreign
# Minister Chrystia Freeland") ranks before one that holds the same words otherwise ("Foreign Affairs
# Minister Winston Peters left for Canada"), which word-count features cannot tell apart.
ROLE_HOLDER_BONUS = 5.0
SHORT_QUESTION_TERMS = 3  # a question of at most this many words must have its names near the answer
# MiniLM cosine from which a word after a number counts what "how many" asks for: synonyms pass
# (countries/nations 0.79, children/kids 0.89, deaths/fatalities 0.83), kindred words do not
# (minutes/seconds 0.76, men/women 0.72, years/months 0.74).
COUNTED_SIMILARITY = 0.78
UNKNOWN_POSITION = 10  # a sentence whose place in its article is not known counts as mid-article



@dataclass
class Passage:
    """A retrieved chunk, numbered by retrieval rank (1-based)."""

    rank: int
    doc_id: str
    text: str
    start: int  # offset of the chunk in its article
    score: float
    metadata: dict = field(default_factory=dict)

    @property
    def source(self) -> str:
        return self.metadata.get("source") or self.doc_id


@dataclass
class Sentence:
    passage: Passage
    span: Span  # offsets in the article
    dense: float = 0.0  # cosine with the question
    overlap: float = 0.0  # share of the question's words it holds
    score: float = 0.0  # chance that it holds the answer (the evidence gate's number)
    rank_score: float = 0.0  # order among the candidates (higher first)
    features: list[float] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.span.text


def passages_from(nodes: list[NodeWithScore]) -> list[Passage]:
    passages = []
    for rank, hit in enumerate(nodes, start=1):
        node = hit.node
        passages.append(
            Passage(
                rank=rank,
                doc_id=node.ref_doc_id or node.metadata.get("source", node.node_id),
                text=node.get_content(),
                start=node.start_char_idx or 0,
                score=float(hit.score or 0.0),
                metadata=dict(node.metadata),
            )
        )
    return passages


def candidate_sentences(passages: list[Passage]) -> list[Sentence]:
    """Each distinct sentence of the passages once (chunks overlap), with article offsets."""
    seen: set[tuple[str, int]] = set()
    out: list[Sentence] = []
    for passage in passages:
        for span in filter(None, map(without_promotion, split_sentences(passage.text, offset=passage.start))):
            key = (passage.doc_id, span.start)
            if key in seen or len(content_terms(span.text)) < 2:
                continue
            seen.add(key)
            out.append(Sentence(passage=passage, span=span))
    return out


def score_sentences(
    question: str, context_query: str, sentences: list[Sentence], embed_model, *,
    retrieved: list[Passage] = (), article_sentences: Callable[[str], list[Span]] | None = None,
    model: AnswerModel = DEFAULT, earlier_question: str = "",
) -> list[Sentence]:
    """The candidate sentences, best answer first; each with `score`, its chance of holding the answer.

    `retrieved`: every retrieved passage (other articles that repeat a sentence's names or numbers
    support it). `article_sentences(doc_id)`: an article's sentences, for the sentence before each
    candidate and its place in the article; without it, only the passages are used.
    `earlier_question`: the conversation's previous question (see `QuestionInfo.of`).
    """
    if not sentences:
        return []
    info = QuestionInfo.of(question, context_query, earlier_question)
    # The rules below read the question's shape: "In the article that mentions Peters, what did
    # Russia's foreign minister say?" asks what Russia's minister said (Peters picks the article).
    question = core_question(question)
    ctx_terms = content_terms(context_query)
    idf = rarity([s.text for s in sentences])
    previous = None
    for s in sentences:
        # Cheap pre-score to keep embedding work bounded on long retrieved contexts. The rare-word
        # share counts the sentence before as well: "He said the North ..." after "Taro Kono was
        # blunter." holds only the common words of "What did Kono say about North Korea?".
        s.overlap = coverage(info.terms, s.text)
        follows = previous is not None and previous.passage.doc_id == s.passage.doc_id and \
            0 <= s.span.start - previous.span.end <= 3
        window = f"{previous.text} {s.text}" if follows else s.text
        rare_share = weighted_coverage(info.term_set, set(content_terms(window)), idf)
        s.score = s.overlap + rare_share + 0.5 * coverage(ctx_terms, s.text) + 0.1 / s.passage.rank
        previous = s
    shortlist = sorted(sentences, key=lambda s: -s.score)[:MAX_CANDIDATES]
    article_rank: dict[str, int] = {}
    for s in sorted(sentences, key=lambda s: s.passage.rank):
        article_rank.setdefault(s.passage.doc_id, len(article_rank) + 1)
    article_terms: dict[str, set[str]] = {}
    for p in list(retrieved) or [s.passage for s in sentences]:
        article_terms.setdefault(p.doc_id, set()).update(content_terms(p.text))
    others_pool = list(article_terms.items())[:CONSENSUS_ARTICLES]
    # Each shortlisted sentence's article, split once: its words (for anchors) and sentence starts.
    spans_of: dict[str, list[Span]] = {}
    for s in shortlist:
        doc = s.passage.doc_id
        if doc not in spans_of:
            spans_of[doc] = (article_sentences(doc) if article_sentences else None) or []
    article_text = {doc: " ".join(sp.text for sp in spans) for doc, spans in spans_of.items()}
    whole_article = {doc: set(content_terms(text)) for doc, text in article_text.items()}
    starts_of = {doc: [sp.start for sp in spans] for doc, spans in spans_of.items()}
    windows, befores, afters, positions = [], [], [], []
    for s in shortlist:
        spans = spans_of[s.passage.doc_id]
        before, position = _before(s, spans, starts_of[s.passage.doc_id])
        windows.append(f"{before} {s.text}".strip())
        befores.append(before)
        known = position + 1 < len(spans) and spans[position].start == s.span.start
        afters.append(spans[position + 1].text if known else "")
        positions.append(position)
    # Only the sentences are embedded: embedding each with the sentence before it as well doubled the
    # cost and gained nothing held out (DECISIONS.md); the window still counts for word overlap.
    sims = _cosines(_embed(embed_model, [s.text for s in shortlist]), embed_model, info.search_text)
    if info.counted:  # "how many countries" is answered by "20 nations"
        info = replace(info, counted=info.counted | _same_things(counted_words(question), shortlist, embed_model))
    # In a question of a few words every name is what it asks about ("Who is China's foreign
    # minister?", "What did Freeland say about China?"): a sentence that misses one of them, and so
    # does the one before it, is not evidence (New Zealand's minister; Noerper on China). Long quiz
    # questions name people and places only as context.
    asked_names = name_groups(question)
    names_required = bool(asked_names) and len(content_terms(question)) <= SHORT_QUESTION_TERMS
    # A question of one name and one word about it ("When did Queen Elizabeth die?") asks that word
    # of it; a sentence naming the queen without it is not evidence. Not the words that only shape
    # the question ("How old is...", "Where is ... based?").
    # "What did Freeland urge?" asks for her words, in whatever verb the article gives them.
    asked_about = set(info.plain_terms) - {stem(info.speech_word)} - shaping_terms()
    # "In which city will the Olympics that North Korea is joining be held?": a sentence that holds
    # none of what it asks ("joining"; "city" is named, not said) and misses one of its names
    # (Olympics) is about something else that shares a name (North Korea), not evidence.
    plain_asked = asked_about - {stem(info.kind_word)} if info.kind_word else asked_about
    # ("Which country does Winston Peters represent?" asks "represent" of him: naming a country answers
    # "which country", so the kind's word is not the one thing asked.)
    one_thing_asked = plain_asked if len(asked_names) == 1 and len(plain_asked) == 1 else set()
    # "Which airline...?", "Which country...?", "Which senator...?" ask for an organisation, place or person:
    # a sentence that names none the question does not already name does not answer it ("her airline
    # separated the couple"). Not for kinds the tagger often misses (a product, a currency, a show).
    # "Where...?" likewise needs a place the question does not name (or an organisation: spaCy tags
    # "Andrews Air Force Base" and many venues ORG).
    where_asked = bool(ASKS_PLACE.search(question.lower()))
    entity_needed = None  # the labels of which a sentence must name a new entity
    if info.entity_labels and info.kind_word and info.entity_labels <= NAMED_KINDS:
        entity_needed = info.entity_labels
    elif info.entity_labels and where_asked:
        entity_needed = info.entity_labels | ORGANISATION
    # A follow-up's "he"/"she": the person of the earlier turn it stands for (QuestionInfo.referent).
    person = set(content_terms(info.referent)) if info.referent and refers_to_one_person(question) else set()
    holder = role_asked(question)  # "Who is Canada's foreign minister?": holder "canada", role {"foreign", "minister"}
    speaker = speaker_asked(question)  # "What did Japan say?": {"japan"}, whose words the answer must give
    role_of_speaker = speaker_role(question) if speaker else frozenset()  # "...Sri Lanka's prime minister say?"
    thing_named = named_thing(question)  # "What is the name of the property...?": {"property", ...}
    # "Who sent the alert?": someone, not only the alert (tagged below: who-questions ask for entities)
    agent_asked = asks_for_agent(question) and bool(info.entity_labels)
    deaths_asked = asks_deaths(question)  # "How many people died...?": not "68 people were stranded"
    age_asked = asks_age(question)  # "How old is Carlos Santana?": not a baseball score that names a Santana
    money_asked = asks_money(question)  # "What price will Serbia pay?": not "a new three-year gas deal"
    duration_asked = asks_duration(question)  # "How long did the meeting last?": not the date it was held
    did_what = verb_of_who(question)  # "Who painted the mural?": "paint"
    voices: dict[str, frozenset[str]] = {}  # per article: the speaker and the names its titles give
    for s in shortlist if speaker else []:
        doc = s.passage.doc_id
        if doc not in voices:
            text = article_text[doc] or s.passage.text
            voices[doc] = role_holders(text, speaker, role_of_speaker) or speaker | aliases(text, speaker)
    # "How much is Justin Forsett's contract worth?" asks about the people it names, not for one: a
    # sentence that names another person and, with the one before, misses one the question names is
    # about someone else (Antonio Cromartie's $32 million in an article about Forsett). Not for
    # organisations: "the Department of Defense" is the question's "Pentagon".
    asked_people = people_named(question, info.entity_labels)
    if role_of_speaker:  # whose role it is: a country or a body ("Sri Lanka", which spaCy may call a person)
        asked_people = [p for p in asked_people if not p <= speaker]
    tags: list = [()] * len(shortlist)
    if info.entity_labels or asked_people:  # only questions that ask for a kind of entity pay for tagging
        # "He said the North ..." is by the person the sentence before names: tag the two together.
        tags = default_tagger().entities([windows[i] if opens_with_he_said(s.text) else s.text
                                          for i, s in enumerate(shortlist)])
    # "Who hosted the Vancouver meeting?": a sentence that says what was hosted by whom answers it when
    # that is the meeting (by meaning: "the gathering"), and is about something else when it is not.
    thing_of: dict[str, dict[int, str]] = {}
    related_things: set[str] = set()
    deed = did_what or verb_of_which(question)  # "Which countries co-hosted the meeting?" too
    asked_thing = deed_object(question, deed) if deed else ""
    if asked_thing:
        for s in shortlist:
            if thing := passive_deed(s.text, deed):
                thing_of.setdefault(s.passage.doc_id, {})[s.span.start] = thing
        things = sorted({t for found in thing_of.values() for t in found.values()})
        if things:
            vectors = _embed(embed_model, [asked_thing] + things)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9
            related_things = {t for t, sim in zip(things, vectors[1:] @ vectors[0]) if sim >= DEED_THING_SIMILARITY}
    for i, s in enumerate(shortlist):
        s.dense = float(sims[i])
        others = [terms for doc, terms in others_pool if doc != s.passage.doc_id]
        s.features = features(info, s.text, windows[i], s.passage.text, article_rank[s.passage.doc_id],
                              positions[i], s.dense, others, idf, whole_article[s.passage.doc_id], tags[i])
        if thing_of.get(s.passage.doc_id, {}).get(s.span.start) in related_things:  # "The gathering, co-hosted
            s.features[FEATURES.index("typed_entity")] = 1.0  # by Canada and the US" names the hosts of the meeting
        s.rank_score = model.rank_score(s.features)
        if holder and holds_role(s.text, holder):
            s.rank_score += ROLE_HOLDER_BONUS
        s.score = model.probability(s.features)
        near = set(content_terms(windows[i]))
        # The article's title counts for the names: a story about "Vancouver Talks" need not repeat
        # Vancouver in the sentence that says who was not invited.
        about = near | set(content_terms(s.passage.metadata.get("title", "")))
        if names_required and any(not group & about for group in asked_names):
            s.score = 0.0
        # (Their words in the next sentence count: "Kono was blunter." before "He said the North wants...")
        if plain_asked and not plain_asked & near and any(not group & about for group in asked_names) and not (
                gives_their_words(afters[i]) and plain_asked & set(content_terms(afters[i]))):
            s.score = 0.0
        if person and not person & near:  # "What did she say?": a sentence by or about her
            s.score = 0.0
        if one_thing_asked and not one_thing_asked & near:  # "When did Kim Jong Un die?": a sentence
            s.score = 0.0  # about Kim, and the one before it, that say nothing of his death
        # Not a list of nations (no role), another role (a foreign minister for the prime minister), nor
        # a role of someone else ("Canada's Minister..." in "British Columbia" for Columbia's minister).
        if holder and not (names_role(s.text, holder) and holds_role(s.text, holder)):
            s.score = 0.0
        if speaker and not speaks(s.text, befores[i], voices[s.passage.doc_id], afters[i]):
            s.score = 0.0  # names Japan, or speaks to Kim Jong Un, but gives no words of theirs
        if agent_asked and not names_an_agent(windows[i] if opens_with_he_said(s.text) else s.text, tags[i],
                                              info.term_set, info.names):
            s.score = 0.0  # "...a mistaken missile alert caused panic on Hawaii": by whom, it does not say
        # "Where...?" is answered by a place something is in or at, not by the dateline ("USA TODAY NEW
        # YORK -- ... some of Broadway's biggest names gathered").
        placed = in_or_at(*after_dateline(s.text, tags[i])) if where_asked else tags[i]
        if entity_needed and not new_entities(placed, entity_needed, info.term_set, info.names) and not (
                info.kind_word in COUNTRY_WORDS and nationality_of(s.text, tags[i], info.term_set)):
            s.score = 0.0  # "her airline separated the couple"; "...the first new Ebola case in Liberia"
        if asked_people and about_someone_else(tags[i], asked_people, near, info.term_set):
            s.score = 0.0
        if info.speech_word and asked_people and quotes_someone_else(s.text, tags[i], asked_people):
            s.score = 0.0  # "What did Tillerson urge...?": not '"...," Noerper told VOA.'

        if did_what and not any(t.startswith(did_what) for t in near):  # "Who won...?": a sentence
            s.score = 0.0  # (or the one before) that says won, wins or winner, not who renamed the award
        thing = thing_of.get(s.passage.doc_id, {}).get(s.span.start)
        if thing and thing not in related_things:  # "...the Olympics being hosted by the South": who hosted
            s.score = 0.0  # something else than the meeting asked about
        if deaths_asked and not speaks_of_deaths(windows[i]):
            s.score = 0.0
        if age_asked and not states_an_age(s.text):
            s.score = 0.0
        if money_asked and not states_money(s.text):
            s.score = 0.0
        if duration_asked and not states_a_duration(s.text):
            s.score = 0.0
        if info.kind == "number" and amount_of_someone_else(s.text, tags[i], asked_people, money_asked):
            s.score = 0.0  # "How long was Bennett in power?": not "...ousted Netanyahu, ending his 12 years"
        if thing_named and not names_the_thing(s.text, thing_named, info.term_set):
            s.score = 0.0  # "What was the name of the missile...?": a sentence that names no missile
    return sorted(shortlist, key=lambda s: -s.rank_score)


def people_named(question: str, asked_labels: frozenset[str] | None) -> list[set[str]]:
    """The words of each person the question names, unless it asks for a person ("Who won...?")."""
    if asked_labels and "PERSON" in asked_labels:
        return []
    return [set(content_terms(text)) for text, label in default_tagger().entities([question])[0] if label == "PERSON"]


def about_someone_else(entities: list[tuple[str, str]], people: list[set[str]], near: set[str],
                       question_terms: set[str]) -> bool:
    """The sentence (`near`: its words and the sentence before's) misses one of the question's people
    and names another person, who shares no word with the question."""
    if all(person & near for person in people):
        return False
    return any(label == "PERSON" and (terms := set(content_terms(text))) and not terms <= question_terms
               and not any(terms & person for person in people) for text, label in entities)


def _before(sentence: Sentence, spans: list[Span], starts: list[int]) -> tuple[str, int]:
    """The sentence before this one in its article, and this one's index in the article (`spans`:
    the article's sentences, `starts` their offsets; empty when the article is not known)."""
    if not spans:
        spans = split_sentences(sentence.passage.text, offset=sentence.passage.start)
        starts = [sp.start for sp in spans]
    i = bisect.bisect_left(starts, sentence.span.start)
    if i < len(spans) and spans[i].start == sentence.span.start:
        return (spans[i - 1].text if i > 0 else ""), i
    return "", UNKNOWN_POSITION


def _same_things(counted: list[str], shortlist: list[Sentence], embed_model) -> set[str]:
    """Stems of the words after numbers in the shortlist that name what `counted` names, by meaning."""
    after = sorted(words_after_numbers([s.text for s in shortlist]) - set(counted))
    if not counted or not after:
        return set()
    vectors = _embed(embed_model, counted + after)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9
    similar = (vectors[len(counted):] @ vectors[: len(counted)].T).max(axis=1)
    return {stem(w) for w, sim in zip(after, similar) if sim >= COUNTED_SIMILARITY}


def _embed(embed_model, texts: list[str]) -> np.ndarray:
    if hasattr(embed_model, "embed"):
        return np.asarray(embed_model.embed(texts), dtype=np.float32)
    return np.array(embed_model.get_text_embedding_batch(texts), dtype=np.float32)


def _cosines(vectors: np.ndarray, embed_model, query: str) -> np.ndarray:
    q = np.array(embed_model.get_query_embedding(query), dtype=np.float32)
    return vectors @ q / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(q) + 1e-9)
