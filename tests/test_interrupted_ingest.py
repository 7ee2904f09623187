"""kill -9 the ingest at exact points (BOT_TEST_KILL_AT, see bot/ingest.py), run it again: the store must end
identical to a clean ingest (same articles, same chunk ids, texts and vectors, no duplicates, no orphans,
the BM25 index over exactly the stored chunks)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from conftest import make_settings

ARTICLES = 60  # with BATCH_DOCS=32: two batches (32 + 28 one-chunk articles)
EMBED_BATCH = 8  # four embedding calls per batch, so "embedded:n" can stop inside a batch


def write_article(folder: Path, k: int, extra: str = "") -> None:
    (folder / f"article-{k:02d}.txt").write_text(
        f"Harbour report number {k}\n\n"
        f"The port of Portville{k} handled {1000 + k * 7} containers on Monday, officials said. "
        f"Mayor Quill{k} opened a new bridge over the river Ness{k}. "
        f"Local fishermen landed {k + 3} tonnes of cod this week.{extra}\n",
        encoding="utf-8",
    )


def make_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(ARTICLES):
        write_article(folder, k)
    return folder


def cli_ingest(corpus: Path, store: Path, kill_at: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env.update(BOT_EMBED_BATCH_SIZE=str(EMBED_BATCH), TOKENIZERS_PARALLELISM="false")
    if kill_at:
        env["BOT_TEST_KILL_AT"] = kill_at
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "ingest", str(corpus), "--store", str(store)],
        env=env, cwd=store.parent, capture_output=True, text=True, timeout=300,
    )


def killed(corpus: Path, store: Path, kill_at: str) -> None:
    run = cli_ingest(corpus, store, kill_at)
    assert run.returncode == -signal.SIGKILL, (kill_at, run.returncode, run.stderr[-2000:])


def finished(corpus: Path, store: Path) -> str:
    run = cli_ingest(corpus, store)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    return run.stdout


def snapshot(store: Path) -> dict:
    """Everything a user's answers depend on, read straight from the files (no bot code)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(path=str(store / "chroma"), settings=ChromaSettings(anonymized_telemetry=False))
    got = client.get_collection("news").get(include=["documents", "metadatas", "embeddings"])
    chunks = {
        cid: {"text": text, "doc": meta["document_id"], "title": meta["title"], "date": meta["date"]}
        for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"])
    }
    vectors = {cid: np.asarray(vec) for cid, vec in zip(got["ids"], got["embeddings"])}
    docstore = json.loads((store / "docstore.json").read_text(encoding="utf-8"))
    docs = {doc_id: meta["doc_hash"] for doc_id, meta in docstore["docstore/metadata"].items()}
    from bot.lexical import load_bm25

    bm25 = load_bm25(store, 5)
    bm25_chunks = {
        item["node_id"]: json.loads(item["_node_content"])["text"] for item in (bm25.corpus if bm25 else [])
    }
    vocabulary_file = store / "vocabulary.json"  # the words spelling correction corrects to
    vocabulary = json.loads(vocabulary_file.read_text(encoding="utf-8")) if vocabulary_file.exists() else None
    leftovers = sorted(p.name for p in store.iterdir() if p.name.endswith(".tmp") or p.name == "bm25.stale")
    return {"chunks": chunks, "vectors": vectors, "docs": docs, "bm25": bm25_chunks, "vocabulary": vocabulary,
            "leftovers": leftovers}


def assert_consistent(snap: dict) -> None:
    chunks, docs = snap["chunks"], snap["docs"]
    texts = [(c["doc"], c["text"]) for c in chunks.values()]
    assert len(texts) == len(set(texts)), "duplicate chunks"
    orphans = {c["doc"] for c in chunks.values()} - set(docs)
    assert not orphans, f"chunks of articles the docstore does not know: {sorted(orphans)[:5]}"
    empty = set(docs) - {c["doc"] for c in chunks.values()}
    assert not empty, f"articles without chunks: {sorted(empty)[:5]}"
    assert snap["bm25"] == {cid: c["text"] for cid, c in chunks.items()}, "BM25 index differs from the chunks"
    assert snap["vocabulary"], "no vocabulary for spelling correction"
    assert snap["leftovers"] == [], snap["leftovers"]


def assert_same(resumed: dict, clean: dict) -> None:
    assert_consistent(resumed)
    assert resumed["docs"] == clean["docs"]  # same article ids and content hashes
    assert resumed["chunks"] == clean["chunks"]  # same chunk ids, texts, owners, metadata
    assert resumed["vocabulary"] == clean["vocabulary"]
    for cid, vec in clean["vectors"].items():
        assert np.allclose(resumed["vectors"][cid], vec, atol=1e-4), cid


def partial_docs(store: Path) -> int:
    """Articles the docstore on disk holds after a kill (it must always parse)."""
    path = store / "docstore.json"
    if not path.exists():
        return 0
    return len(json.loads(path.read_text(encoding="utf-8"))["docstore/metadata"])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("interrupt") / "articles")


@pytest.fixture(scope="module")
def clean(corpus, tmp_path_factory, embed_model) -> dict:
    from bot.ingest import ingest
    from bot.store import open_store

    settings = make_settings(tmp_path_factory.mktemp("clean") / "store")
    report = ingest(open_store(settings, embed_model, writable=True), [corpus], embed_model)
    assert report.added == ARTICLES and not report.problems
    snap = snapshot(settings.store)
    assert_consistent(snap)
    assert len(snap["chunks"]) == ARTICLES
    return snap


def chain_a(corpus: Path, store: Path) -> list[int]:
    """During batch 1's embedding; then batch 2 in Chroma but not the docstore; then before BM25."""
    seen = []
    killed(corpus, store, "embedded:2")
    seen.append(partial_docs(store))
    killed(corpus, store, "chroma-written:2")
    seen.append(partial_docs(store))
    killed(corpus, store, "bm25:1")
    seen.append(partial_docs(store))
    assert not (store / "bm25").exists() and (store / "bm25.stale").exists()
    finished(corpus, store)
    return seen


def chain_b(corpus: Path, store: Path) -> list[int]:
    """Before any embedding; halfway through the first docstore write; during batch 2's embedding;
    halfway through the docstore write of the last batch."""
    seen = []
    killed(corpus, store, "batch:1")
    seen.append(partial_docs(store))
    killed(corpus, store, "write-docstore.json:1")
    seen.append(partial_docs(store))
    assert list(store.glob(".docstore.json.*.tmp")), "the kill should leave a half-written temporary file"
    killed(corpus, store, "embedded:6")
    seen.append(partial_docs(store))
    killed(corpus, store, "write-docstore.json:1")
    seen.append(partial_docs(store))
    finished(corpus, store)
    return seen


def test_killed_first_ingest_resumes_to_the_clean_result(corpus, clean, tmp_path):
    stores = {"a": tmp_path / "a" / "store", "b": tmp_path / "b" / "store"}
    for s in stores.values():
        s.parent.mkdir()
    with ThreadPoolExecutor(2) as pool:  # two independent stores, so the chains can overlap
        a = pool.submit(chain_a, corpus, stores["a"])
        b = pool.submit(chain_b, corpus, stores["b"])
        seen_a, seen_b = a.result(), b.result()
    # What the docstore held after each kill: nothing, batch 1 only, everything but BM25.
    assert seen_a == [0, 32, 60]
    # nothing; nothing (the half-written file was never renamed in); batch 1; batch 1.
    assert seen_b == [0, 0, 32, 32]
    for name, store in stores.items():
        assert_same(snapshot(store), clean)
    print(f"\nkill points: 7 over two stores; {len(clean['chunks'])} chunks and {len(clean['docs'])} articles "
          "matched a clean ingest")


def test_killed_incremental_ingest_resumes_to_the_clean_result(corpus, tmp_path, embed_model):
    """Edits, deletions and additions; killed while removing articles, then before the BM25 rewrite
    (the next run then sees no article change, and must still rebuild BM25)."""
    from bot.ingest import ingest
    from bot.store import open_store

    folder = tmp_path / "articles"
    shutil.copytree(corpus, folder)
    store = tmp_path / "store"
    finished(folder, store)
    for k in (3, 40):
        write_article(folder, k, extra=" The harbour master resigned on Friday.")
    for k in (5, 50, 51):
        (folder / f"article-{k:02d}.txt").unlink()
    for k in range(ARTICLES, ARTICLES + 6):
        write_article(folder, k)

    killed(folder, store, "deleted:2")
    killed(folder, store, "bm25:1")
    out = finished(folder, store)
    assert "added 0, updated 0, deleted 0" in out  # nothing left to change, yet BM25 was rebuilt

    settings = make_settings(tmp_path / "clean")
    ingest(open_store(settings, embed_model, writable=True), [folder], embed_model)
    clean = snapshot(settings.store)
    assert len(clean["docs"]) == ARTICLES - 3 + 6
    resumed = snapshot(store)
    assert_same(resumed, clean)
    assert "article-05.txt" not in resumed["docs"] and "article-65.txt" in resumed["docs"]
    assert sum("resigned" in text for text in resumed["bm25"].values()) == 2  # the edits reached BM25
    print(f"\nincremental: 2 kill points; {len(clean['chunks'])} chunks matched a clean ingest")


def test_a_terminated_ingest_says_so_and_a_rerun_finishes_it(corpus, clean, tmp_path):
    # `kill` (SIGTERM) ended the ingest with no message at all.
    store = tmp_path / "store"
    store.parent.mkdir(exist_ok=True)
    run = cli_ingest(corpus, store, "batch:2:TERM")  # after the first batch is stored
    assert run.returncode == 143, (run.returncode, run.stderr[-2000:])
    assert "error: interrupted; nothing half-written was kept, run the command again to finish" in run.stderr
    assert "Traceback" not in run.stderr
    finished(corpus, store)
    assert_same(snapshot(store), clean)
