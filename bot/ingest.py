"""Incremental ingest: articles -> sentence chunks -> embeddings -> Chroma, via LlamaIndex's IngestionPipeline.

Crash safety: documents go through in batches; each batch first removes any chunks its documents left
behind (a killed earlier run), then adds its chunks to Chroma, then atomically rewrites the docstore.
A kill at any point leaves either the old state or chunks that the next run replaces, never duplicates
or orphans. Chunk ids are deterministic (`<doc id>#<n>`), so a resumed ingest equals a clean one.
A marker file (bm25.stale) stands from the first change until the BM25 index and the vocabulary the
spelling correction uses are rewritten, so a run killed before that has them rebuilt by the next run
even when no article changed since.

Test hook: BOT_TEST_KILL_AT=<point>:<n> (see bot.store.kill_point_for_tests) kills the process at
`batch` (before batch n is embedded), `embedded` (after the n-th embedding call), `chroma-written`
(batch n in Chroma, docstore not yet written), `write-docstore.json` (halfway through the n-th docstore
write), `deleted` (after the n-th removed article left Chroma) or `bm25` (before the BM25 rewrite).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from llama_index.core import Document
from llama_index.core.ingestion import DocstoreStrategy, IngestionPipeline
from llama_index.core.node_parser import SentenceSplitter

from bot.config import Settings
from bot.lexical import all_chunks, build_bm25, load_bm25, save_bm25
from bot.loaders import LoadResult, load_paths
from bot.spelling import count_words, has_vocabulary, save_vocabulary
from bot.store import Store, kill_point_for_tests, open_store, stale_temp_files

BATCH_DOCS = 32
# The docstore is one JSON file, rewritten whole: its write grows with the store (0.13 s at 1,134
# articles, 3 s at 20,000), so writing it after every batch makes a big ingest
# quadratic. It is written once the time since the last write is this many times what that write
# took: at most about 1/PERSIST_SPACING of the ingest, and every batch while the store is small.
PERSIST_SPACING = 20
BM25_STALE = "bm25.stale"


def _kill_after_embedding_calls() -> None:
    """Test hook: count embedding calls (LlamaIndex instrumentation events) for BOT_TEST_KILL_AT=embedded:n."""
    from llama_index.core.instrumentation import get_dispatcher
    from llama_index.core.instrumentation.event_handlers import BaseEventHandler
    from llama_index.core.instrumentation.events.embedding import EmbeddingEndEvent

    class KillAfterEmbedding(BaseEventHandler):
        def handle(self, event, **kwargs) -> None:
            if isinstance(event, EmbeddingEndEvent):
                kill_point_for_tests("embedded")

    get_dispatcher().add_event_handler(KillAfterEmbedding())


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    chunks: int = 0
    seconds: float = 0.0
    docstore_writes: int = 0
    docstore_write_s: float = 0.0
    problems: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    kept: bool = False  # --rebuild read no article, so the old index was left as it was

    def summary(self) -> str:
        if self.kept:
            return "nothing rebuilt: no article could be read, so the index was left as it was"
        return (
            f"added {self.added}, updated {self.updated}, deleted {self.deleted}, "
            f"unchanged {self.unchanged}, chunks {self.chunks}, {self.seconds:.1f} s"
        )


def chunk_id(index: int, document: Document) -> str:
    return f"{document.doc_id}#{index}"


def make_splitter(settings: Settings) -> SentenceSplitter:
    return SentenceSplitter(
        chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap, id_func=chunk_id
    )


def _delete_article(store: Store, doc_id: str) -> None:
    store.vector_store.delete(doc_id)
    store.docstore.delete_ref_doc(doc_id, raise_error=False)
    store.docstore.delete_document(doc_id, raise_error=False)


def _same_name_elsewhere(store: Store, doc) -> str:
    """A problem line when the store's article of this name came from another file that is still
    there ("ok.txt" of two folders): ingesting the second must not replace the first. A file that
    is gone was moved or renamed, and its new copy replaces it."""
    stored = store.article(doc.doc_id)
    old_path = stored.metadata.get("path") if stored is not None else None
    new_path = doc.metadata.get("path")
    if not old_path or not new_path or old_path == new_path or not Path(old_path).exists():
        return ""
    return (f"{new_path}: skipped, the store already has an article named '{doc.doc_id}' from {old_path}; "
            "rename one of them or ingest into another --store")


def _inside(path: str | None, places: list[Path]) -> bool:
    """The path is one of the places or under one of them."""
    return bool(path) and any(Path(path) == p or Path(path).is_relative_to(p) for p in places)


def ingest(
    store: Store,
    paths: list[Path],
    embed_model,
    progress: Callable[[int, int], None] | None = None,
    loaded: LoadResult | None = None,
) -> IngestReport:
    """Bring the store in line with the articles under `paths` (read already: `loaded`); report what changed."""
    started = time.perf_counter()
    settings = store.settings
    if loaded is None:
        loaded = load_paths(paths, settings.max_file_mb)
    report = IngestReport(problems=loaded.problems, skipped=loaded.skipped)

    if os.environ.get("BOT_TEST_KILL_AT", "").startswith("embedded:"):
        _kill_after_embedding_calls()
    for leftover in stale_temp_files(store.folder):  # half-written by a killed run, never renamed in
        leftover.unlink(missing_ok=True)
    stale_marker = store.folder / BM25_STALE

    docstore = store.docstore
    known = docstore.get_all_document_hashes()  # hash -> doc id
    known_hash = {doc_id: h for h, doc_id in known.items()}
    new_docs, changed_docs = [], []
    for doc in loaded.documents:
        old = known_hash.get(doc.doc_id)
        if old is None:
            new_docs.append(doc)
        elif old != doc.hash:
            clash = _same_name_elsewhere(store, doc)
            if clash:
                report.problems.append(clash)  # and the stored article stays: its id is read now
                continue
            changed_docs.append(doc)
        else:
            report.unchanged += 1

    # Deleted: articles that came from one of the folders read now but are no longer there, and
    # records no longer in a dump file read now. An article file given on its own deletes nothing else.
    roots = {str(Path(p).resolve()) for p in paths if Path(p).is_dir()}
    files = {str(Path(p).resolve()) for p in paths if Path(p).is_file()}
    current_ids = {d.doc_id for d in loaded.documents}
    unreadable = [Path(p) for p in loaded.unreadable]
    to_delete = []
    for doc_id in list(known_hash):
        if doc_id in current_ids:
            continue
        stored = store.article(doc_id)
        if stored is None:
            continue
        if stored.metadata.get("origin") not in roots and stored.metadata.get("path") not in files:
            continue
        if _inside(stored.metadata.get("path"), unreadable):
            continue  # present but unreadable now (or in a folder that is): keep it rather than lose it
        to_delete.append(doc_id)
    todo = new_docs + changed_docs
    if todo or to_delete:
        stale_marker.parent.mkdir(parents=True, exist_ok=True)
        stale_marker.touch()
    for doc_id in to_delete:
        _delete_article(store, doc_id)
        kill_point_for_tests("deleted")
        report.deleted += 1
    if report.deleted:
        store.persist_docstore()

    pipeline = IngestionPipeline(
        transformations=[make_splitter(settings), embed_model],
        vector_store=store.vector_store,
        docstore=docstore,
        docstore_strategy=DocstoreStrategy.UPSERTS,
        disable_cache=True,
    )
    done = 0
    if progress:
        progress(0, len(todo))
    last_write_end, last_write_s = time.monotonic(), 0.0
    for start in range(0, len(todo), BATCH_DOCS):
        batch = todo[start : start + BATCH_DOCS]
        for doc in batch:
            # Leftovers from an interrupted run (or the old version) go first: never duplicates.
            store.vector_store.delete(doc.doc_id)
        kill_point_for_tests("batch")
        pipeline.run(documents=batch)
        kill_point_for_tests("chroma-written")
        last = start + BATCH_DOCS >= len(todo)
        # A kill before the next write loses only the batches since this one: the next run finds
        # them missing from the docstore and embeds them again, removing their chunks first.
        if last or time.monotonic() - last_write_end >= PERSIST_SPACING * last_write_s:
            began = time.monotonic()
            store.persist_docstore()
            last_write_end = time.monotonic()
            last_write_s = last_write_end - began
            report.docstore_writes += 1
            report.docstore_write_s += last_write_s
        done += len(batch)
        if progress:
            progress(done, len(todo))

    changed = bool(todo or report.deleted)
    if changed or stale_marker.exists() or load_bm25(store.folder, 1) is None or not has_vocabulary(store.folder):
        kill_point_for_tests("bm25")
        chunks = all_chunks(store.collection)
        save_bm25(build_bm25(chunks, settings.top_k), store.folder)
        save_vocabulary(count_words(c.text for c in chunks), store.folder)
        stale_marker.unlink(missing_ok=True)

    report.added = len(new_docs)
    report.updated = len(changed_docs)
    report.chunks = store.chunk_count()
    report.seconds = time.perf_counter() - started
    store.write_info(
        {
            "last_ingest": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "articles": store.article_count(),
            "chunks": report.chunks,
            "summary": report.summary(),
            "chunk_size": settings.chunk_size,
            "chunk_overlap": settings.chunk_overlap,
        }
    )
    return report


def rebuild(
    settings: Settings,
    paths: list[Path],
    embed_model,
    progress: Callable[[int, int], None] | None = None,
) -> IngestReport:
    """`bot ingest --rebuild`: drop the index and ingest `paths` into a new one. Everything that can fail
    before the first article is stored (reading the articles, the chunking settings, the store folder,
    the embedding model) is done first, so a failure leaves the old index as it was."""
    loaded = load_paths(paths, settings.max_file_mb)
    make_splitter(settings)  # raises on a chunk size / overlap pair LlamaIndex refuses
    if not loaded.documents:  # an empty folder or a typo must not cost the index
        return IngestReport(problems=loaded.problems, skipped=loaded.skipped, kept=True)
    store = open_store(settings, embed_model, writable=True, rebuild=True)
    return ingest(store, paths, embed_model, progress=progress, loaded=loaded)
