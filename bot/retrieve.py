"""Chunk retrieval: dense (Chroma), lexical (BM25) or both fused; a replaceable part of the answer path."""

from __future__ import annotations

import threading

from llama_index.core import VectorStoreIndex
from llama_index.core.llms import MockLLM
from llama_index.core.retrievers import BaseRetriever, QueryFusionRetriever
from llama_index.core.retrievers.fusion_retriever import FUSION_MODES
from llama_index.core.schema import NodeWithScore

from bot.config import Settings
from bot.lexical import index_stamp, load_bm25
from bot.store import Store

# Fusion weights (dense, lexical): see DECISIONS.md for how they were measured.
FUSION_WEIGHTS = (0.5, 0.5)


def make_retriever(store: Store, embed_model, settings: Settings, top_k: int | None = None) -> BaseRetriever:
    k = top_k or settings.top_k
    dense = VectorStoreIndex.from_vector_store(store.vector_store, embed_model=embed_model).as_retriever(
        similarity_top_k=k
    )
    if settings.retriever == "dense":
        return dense
    bm25 = load_bm25(store.folder, k)
    if bm25 is None:  # an empty store: only dense can answer (with nothing)
        return dense
    if settings.retriever == "bm25":
        return bm25
    return QueryFusionRetriever(
        retrievers=[dense, bm25],
        retriever_weights=list(FUSION_WEIGHTS),
        mode=FUSION_MODES.RELATIVE_SCORE,
        similarity_top_k=k,
        num_queries=1,  # no LLM query rewriting offline
        llm=MockLLM(),  # never called with num_queries=1; stops it loading OpenAI's default
        use_async=False,
    )


class Retriever:
    """Rebuilds its parts when an ingest has changed the store since they were built."""

    def __init__(self, store: Store, embed_model, settings: Settings) -> None:
        self.store, self.embed_model, self.settings = store, embed_model, settings
        self._lock = threading.Lock()
        self._stamp: object = None
        self._retriever: BaseRetriever | None = None
        self._k: int | None = None

    def _current(self, k: int) -> BaseRetriever:
        stamp = index_stamp(self.store.folder)
        with self._lock:
            if self._retriever is None or stamp != self._stamp or k != self._k:
                self._retriever = make_retriever(self.store, self.embed_model, self.settings, k)
                self._stamp, self._k = stamp, k
            return self._retriever

    def retrieve(self, query: str, top_k: int | None = None) -> list[NodeWithScore]:
        k = top_k or self.settings.top_k
        return self._current(k).retrieve(query)[:k]
