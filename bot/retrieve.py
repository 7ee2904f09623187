"""Chunk retrieval: dense (Chroma), lexical (BM25) or both fused; a replaceable part of the answer path.

Hybrid mode: LlamaIndex's `QueryFusionRetriever` fuses dense and BM25 chunk scores (min-max scaled,
weighted), then the chunks are ranked by article: an article's score is its best chunk plus a share
of its next two (several matching passages are evidence the article is about the question), plus a
recency prior (articles published close to the question's date first). DECISIONS.md has the numbers.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import date

from llama_index.core import VectorStoreIndex
from llama_index.core.llms import MockLLM
from llama_index.core.retrievers import BaseRetriever, QueryFusionRetriever
from llama_index.core.retrievers.fusion_retriever import FUSION_MODES
from llama_index.core.schema import NodeWithScore

from bot.config import Settings
from bot.conflicts import parse_day, recency
from bot.lexical import index_stamp, load_bm25
from bot.store import Store

ARTICLE_SUPPORT = 0.3  # weight of an article's 2nd and 3rd best chunks in its score
SUPPORT_CHUNKS = 2
PER_ARTICLE = 3  # chunks kept per article in the ranked list


def article_of(hit: NodeWithScore) -> str:
    node = hit.node
    return node.ref_doc_id or node.metadata.get("source") or node.node_id


def make_fusion(store: Store, embed_model, settings: Settings, depth: int) -> BaseRetriever:
    dense = VectorStoreIndex.from_vector_store(store.vector_store, embed_model=embed_model).as_retriever(
        similarity_top_k=depth
    )
    if settings.retriever == "dense":
        return dense
    bm25 = load_bm25(store.folder, depth)
    if bm25 is None:  # an empty store: only dense can answer (with nothing)
        return dense
    if settings.retriever == "bm25":
        return bm25
    w = settings.fusion_dense_weight
    return QueryFusionRetriever(
        retrievers=[dense, bm25],
        retriever_weights=[w, 1.0 - w],
        mode=FUSION_MODES.RELATIVE_SCORE,
        similarity_top_k=2 * depth,
        num_queries=1,  # no LLM query rewriting offline
        llm=MockLLM(),  # never called with num_queries=1; stops it loading OpenAI's default
        use_async=False,
    )


def rank_by_article(
    hits: list[NodeWithScore], *, as_of: object = None, recency_weight: float = 0.0,
    recency_days: float = 30.0, per_article: int = PER_ARTICLE,
) -> list[NodeWithScore]:
    """Chunks grouped by article, best article first; each article's best chunks (at most
    `per_article`) in score order. Every chunk's score becomes its article's score."""
    groups: dict[str, list[NodeWithScore]] = defaultdict(list)
    for hit in sorted(hits, key=lambda h: -(h.score or 0.0)):
        groups[article_of(hit)].append(hit)
    scores = {}
    for doc, chunks in groups.items():
        s = [c.score or 0.0 for c in chunks]
        score = s[0] + ARTICLE_SUPPORT * sum(s[1 : 1 + SUPPORT_CHUNKS])
        if recency_weight:
            score += recency_weight * recency(chunks[0].node.metadata.get("date"), as_of, recency_days)
        scores[doc] = score
    out = []
    for doc in sorted(groups, key=lambda d: -scores[d]):
        for chunk in groups[doc][:per_article]:
            out.append(NodeWithScore(node=chunk.node, score=round(scores[doc], 6)))
    return out


class Retriever:
    """Rebuilds its parts when an ingest has changed the store since they were built."""

    def __init__(self, store: Store, embed_model, settings: Settings) -> None:
        self.store, self.embed_model, self.settings = store, embed_model, settings
        self._lock = threading.Lock()
        self._stamp: object = None
        self._retriever: BaseRetriever | None = None
        self._newest: date | None = None

    def _current(self) -> BaseRetriever:
        stamp = index_stamp(self.store.folder)
        with self._lock:
            if self._retriever is None or stamp != self._stamp:
                self._retriever = make_fusion(
                    self.store, self.embed_model, self.settings, self.settings.retrieval_depth
                )
                self._newest = self._newest_article_date()
                self._stamp = stamp
            return self._retriever

    def _newest_article_date(self) -> date | None:
        days = [parse_day(d.metadata.get("date")) for d in self.store.docstore.docs.values()]
        return max((d for d in days if d), default=None)

    def retrieve(self, query: str, as_of: object = None) -> list[NodeWithScore]:
        """Chunks for `query`. Hybrid: ranked by article, at most `PER_ARTICLE` chunks each, deep
        enough for ten articles. `as_of` is the question's date (default: the newest article's)."""
        retriever = self._current()
        hits = retriever.retrieve(query)
        if self.settings.retriever != "hybrid":  # every chunk it found, as hybrid gives: evaluation counts
            return hits                          # the first ten articles of each; the answer reads top_k
        return rank_by_article(
            hits, as_of=parse_day(as_of) or self._newest, recency_weight=self.settings.recency_weight,
            recency_days=self.settings.recency_days,
        )
