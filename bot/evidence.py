"""Candidate answer sentences from retrieved chunks, scored against the question.

The extractive answerer, the evidence gate and the citation verifier all work on these sentences, so
every quote carries its article and its character offsets in the article text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from llama_index.core.schema import NodeWithScore

from bot.text import Span, content_terms, coverage, split_sentences

MAX_CANDIDATES = 48  # sentences embedded per question; bounds latency

_NUMBER = re.compile(r"\b\d[\d,.]*\b|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|thousand|million|billion|dozen)s?\b", re.I)
_DATE = re.compile(r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|yesterday|tomorrow|january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\b\.?|\b(?:19|20)\d\d\b", re.I)
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")


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
    dense: float = 0.0
    overlap: float = 0.0
    score: float = 0.0

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


def expected_answer_type(question: str) -> str | None:
    q = question.lower()
    if re.search(r"\bhow (many|much|long|old|far)\b|\bwhat (number|percentage|amount)\b", q):
        return "number"
    if re.search(r"\bwhen\b|\bwhat (date|day|year|month|time)\b|\bwhich (date|day|year|month)\b", q):
        return "date"
    if re.search(r"^\s*who\b|\bwho (is|was|were|are)\b|\bwhich (person|leader|official|minister|country|nation|city|company)\b", q):
        return "name"
    return None


def has_answer_type(text: str, kind: str | None) -> bool:
    if kind == "number":
        return bool(_NUMBER.search(text))
    if kind == "date":
        return bool(_DATE.search(text))
    if kind == "name":
        return bool(_NAME.search(text))
    return False


def candidate_sentences(passages: list[Passage]) -> list[Sentence]:
    """Each distinct sentence of the passages once (chunks overlap), with article offsets."""
    seen: set[tuple[str, int]] = set()
    out: list[Sentence] = []
    for passage in passages:
        for span in split_sentences(passage.text, offset=passage.start):
            key = (passage.doc_id, span.start)
            if key in seen or len(content_terms(span.text)) < 2:
                continue
            seen.add(key)
            out.append(Sentence(passage=passage, span=span))
    return out


def score_sentences(
    question: str, context_query: str, sentences: list[Sentence], embed_model
) -> list[Sentence]:
    """Score sentences by meaning (embeddings) and by shared words; best first."""
    if not sentences:
        return []
    q_terms = content_terms(question)
    ctx_terms = content_terms(context_query)
    kind = expected_answer_type(question)
    for s in sentences:
        s.overlap = coverage(q_terms, s.text)
        # Cheap pre-score to keep embedding work bounded on long retrieved contexts.
        s.score = s.overlap + 0.5 * coverage(ctx_terms, s.text) + 0.1 / s.passage.rank
    shortlist = sorted(sentences, key=lambda s: -s.score)[:MAX_CANDIDATES]
    vectors = embed_model.embed([s.text for s in shortlist]) if hasattr(embed_model, "embed") else np.array(
        embed_model.get_text_embedding_batch([s.text for s in shortlist])
    )
    query_vecs = np.array(embed_model.get_query_embedding(question), dtype=np.float32)
    sims = vectors @ query_vecs / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(query_vecs) + 1e-9)
    if context_query != question:
        ctx_vec = np.array(embed_model.get_query_embedding(context_query), dtype=np.float32)
        ctx_sims = vectors @ ctx_vec / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(ctx_vec) + 1e-9)
        sims = 0.5 * sims + 0.5 * ctx_sims
    for s, sim in zip(shortlist, sims):
        s.dense = float(sim)
        bonus = 0.08 if has_answer_type(s.text, kind) else 0.0
        s.score = 0.6 * s.dense + 0.4 * s.overlap + bonus + 0.02 / s.passage.rank
    return sorted(shortlist, key=lambda s: -s.score)
