"""Build the configured embedding model (and, for generator answerers, the LLM) from settings."""

from __future__ import annotations

from functools import lru_cache

from llama_index.core.base.embeddings.base import BaseEmbedding

from bot.config import Settings


class ModelConfigError(RuntimeError):
    """The configured model cannot be used; the message says which setting to fix."""


@lru_cache(maxsize=4)
def _minilm(threads: int, batch: int) -> BaseEmbedding:
    from bot.embedding import MiniLMEmbedding

    return MiniLMEmbedding(threads=threads, embed_batch_size=batch)


def make_embed_model(settings: Settings) -> BaseEmbedding:
    if settings.embed == "minilm":
        return _minilm(settings.embed_threads, settings.embed_batch_size)
    raise ModelConfigError(f"embedding model '{settings.embed}' is not available yet")
