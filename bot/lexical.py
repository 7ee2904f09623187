"""The BM25 index over the same chunks as Chroma, rebuilt after each ingest that changes the store."""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

from llama_index.core.schema import TextNode
from llama_index.retrievers.bm25 import BM25Retriever

# bm25s's default pattern drops one-character tokens, so "3" or "G" could never match; keep them.
TOKEN_PATTERN = r"(?u)\b\w+\b"
BM25_DIR = "bm25"


def all_chunks(collection) -> list[TextNode]:
    """Every chunk in the Chroma collection as a TextNode (text + metadata, no vectors)."""
    from llama_index.core.vector_stores.utils import metadata_dict_to_node

    nodes: list[TextNode] = []
    total = collection.count()
    for offset in range(0, total, 5000):
        got = collection.get(limit=5000, offset=offset, include=["documents", "metadatas"])
        for node_id, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
            node = metadata_dict_to_node(meta, text=text)
            node.id_ = node_id
            nodes.append(node)
    return nodes


def build_bm25(nodes: list[TextNode], top_k: int) -> BM25Retriever | None:
    if not nodes:
        return None
    return BM25Retriever.from_defaults(
        nodes=nodes, similarity_top_k=min(top_k, len(nodes)), token_pattern=TOKEN_PATTERN
    )


def save_bm25(retriever: BM25Retriever | None, folder: Path) -> None:
    """Write to a temporary folder, then swap it in, so a reader never sees half an index."""
    target = folder / BM25_DIR
    if retriever is None:
        shutil.rmtree(target, ignore_errors=True)
        return
    tmp = folder / f".{BM25_DIR}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    retriever.persist(str(tmp), show_progress=False)  # no bm25s bar on the terminal
    old = folder / f".{BM25_DIR}.old"
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    tmp.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def load_bm25(folder: Path, top_k: int) -> BM25Retriever | None:
    path = folder / BM25_DIR
    if not path.is_dir():
        return None
    # bm25s draws a tqdm bar while loading its corpus whatever show_progress says; keep it off the terminal.
    with contextlib.redirect_stderr(io.StringIO()):
        retriever = BM25Retriever.from_persist_dir(str(path), show_progress=False)
    retriever.similarity_top_k = min(top_k, int(retriever.bm25.scores.get("num_docs", top_k)))
    return retriever


def index_stamp(folder: Path) -> object:
    """Changes whenever an ingest rewrites the BM25 index (its folder's modification time)."""
    try:
        return (folder / BM25_DIR).stat().st_mtime_ns
    except OSError:
        return None
