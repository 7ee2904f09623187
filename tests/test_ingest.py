"""Incremental ingest into a real Chroma store with the real MiniLM model."""

from __future__ import annotations

import json

import pytest
from conftest import NZ, VOA, make_settings, seed_copy

from bot.ingest import ingest, make_splitter
from bot.lexical import load_bm25
from bot.loaders import load_paths
from bot.retrieve import Retriever
from bot.store import EmbeddingMismatchError, StoreError, open_store


def _fresh(tmp_path, embed_model, name="store"):
    settings = make_settings(tmp_path / name)
    return open_store(settings, embed_model, writable=True)


def _chunks_of(store, doc_id: str) -> list[str]:
    got = store.collection.get(where={"document_id": doc_id}, include=["documents"])
    return got["documents"]


def _expected_chunks(store, folder) -> int:
    docs = load_paths([folder]).documents
    return len(make_splitter(store.settings).get_nodes_from_documents(docs))


def test_counts_and_second_ingest_changes_nothing(tmp_path, embed_model):
    folder = seed_copy(tmp_path)
    store = _fresh(tmp_path, embed_model)
    first = ingest(store, [folder], embed_model)
    assert (first.added, first.updated, first.deleted, first.unchanged) == (2, 0, 0, 0)
    assert first.chunks == store.chunk_count() == _expected_chunks(store, folder)
    assert store.article_count() == 2
    assert first.problems == []
    assert "added 2, updated 0, deleted 0, unchanged 0" in first.summary()

    ids_before = sorted(store.collection.get()["ids"])
    second = ingest(open_store(store.settings, embed_model, writable=True), [folder], embed_model)
    assert (second.added, second.updated, second.deleted, second.unchanged) == (0, 0, 0, 2)
    assert second.chunks == first.chunks
    assert sorted(store.collection.get()["ids"]) == ids_before
    assert "added 0, updated 0, deleted 0, unchanged 2" in second.summary()


def test_edited_file_is_re_embedded_and_deleted_file_removed(tmp_path, embed_model):
    folder = seed_copy(tmp_path)
    store = _fresh(tmp_path, embed_model)
    ingest(store, [folder], embed_model)
    assert any("Winston Peters" in c for c in _chunks_of(store, NZ))

    path = folder / NZ
    path.write_text(
        path.read_text(encoding="utf-8").replace("Winston Peters", "Jacinda Quillfeather"), encoding="utf-8"
    )
    report = ingest(store, [folder], embed_model)
    assert (report.added, report.updated, report.deleted, report.unchanged) == (0, 1, 0, 1)
    nz_chunks = _chunks_of(store, NZ)
    assert nz_chunks and not any("Winston Peters" in c for c in nz_chunks)  # old chunks gone
    assert any("Jacinda Quillfeather" in c for c in nz_chunks)
    assert store.chunk_count() == report.chunks == _expected_chunks(store, folder)  # no duplicates
    hits = Retriever(store, embed_model, store.settings).retrieve("Which minister is Jacinda Quillfeather?")
    assert "Jacinda Quillfeather" in hits[0].node.get_content()

    (folder / VOA).unlink()
    report = ingest(store, [folder], embed_model)
    assert (report.added, report.updated, report.deleted, report.unchanged) == (0, 0, 1, 1)
    assert _chunks_of(store, VOA) == []
    assert store.article(VOA) is None and store.article_count() == 1
    assert report.chunks == store.chunk_count() == len(_chunks_of(store, NZ))
    # Reopened from disk (the docstore is persisted): the same state.
    reopened = open_store(store.settings, embed_model)
    assert reopened.article_count() == 1 and reopened.article(NZ) is not None


def test_second_folder_and_single_files_do_not_delete_other_articles(tmp_path, embed_model):
    first = seed_copy(tmp_path / "a")
    second = tmp_path / "b"
    second.mkdir()
    (second / "harbour.md").write_text(
        "---\ntitle: Harbour reopens\ndate: 2018-01-20\n---\nThe harbour of Port Quillon reopened after the storm.\n",
        encoding="utf-8",
    )
    store = _fresh(tmp_path, embed_model)
    ingest(store, [first], embed_model)
    report = ingest(store, [second], embed_model)
    assert (report.added, report.deleted) == (1, 0)
    assert store.article_count() == 3

    # One file of a folder, given on its own, is added or updated; its neighbours stay.
    report = ingest(store, [first / VOA], embed_model)
    assert (report.added, report.updated, report.deleted, report.unchanged) == (0, 0, 0, 1)
    assert store.article_count() == 3

    report = ingest(store, [first], embed_model)
    assert (report.deleted, report.unchanged) == (0, 2)
    assert store.article_count() == 3


def test_an_article_of_the_same_name_in_another_folder_does_not_replace_the_stored_one(tmp_path, embed_model):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (first / "ok.txt").write_text("The dam on the Quillon river opened on Thursday.\n", encoding="utf-8")
    (second / "ok.txt").write_text("The harbour of Port Quillon reopened after the storm.\n", encoding="utf-8")
    store = _fresh(tmp_path, embed_model)
    ingest(store, [first], embed_model)
    report = ingest(store, [second], embed_model)
    assert (report.added, report.updated, report.deleted) == (0, 0, 0)
    assert any("already has an article named 'ok.txt'" in p and str(first / "ok.txt") in p for p in report.problems)
    assert "dam" in store.article("ok.txt").text
    # A file that is gone was moved: its namesake elsewhere replaces it.
    (first / "ok.txt").unlink()
    report = ingest(store, [second], embed_model)
    assert report.updated == 1 and "harbour" in store.article("ok.txt").text


def test_articles_of_a_folder_that_cannot_be_read_now_are_kept(tmp_path, embed_model, monkeypatch):
    import os

    folder = seed_copy(tmp_path)
    (folder / "sub").mkdir()
    (folder / "sub" / "nested.txt").write_text("The ferry to Quillon Island resumed service.\n", encoding="utf-8")
    store = _fresh(tmp_path, embed_model)
    assert ingest(store, [folder], embed_model).added == 3
    # Root reads any folder whatever its mode, so the folder's denial is simulated where os.walk lists it.
    real_scandir = os.scandir

    def denied(path):
        if str(path).endswith("sub"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", denied)
    report = ingest(store, [folder], embed_model)
    assert report.deleted == 0 and store.article("sub/nested.txt") is not None
    assert any("sub: Permission denied" in p for p in report.problems)


def test_records_removed_from_a_dump_are_deleted(tmp_path, embed_model):
    dump = tmp_path / "dump.jsonl"
    records = [
        {"id": "r1", "title": "Dam opens", "text": "The new dam on the Quillon river opened on Thursday."},
        {"id": "r2", "title": "Bridge fixed", "text": "The old bridge in Port Quillon was repaired."},
    ]
    dump.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    store = _fresh(tmp_path, embed_model)
    assert ingest(store, [dump], embed_model).added == 2
    dump.write_text(json.dumps(records[0]) + "\n", encoding="utf-8")
    report = ingest(store, [dump], embed_model)
    assert (report.deleted, report.unchanged) == (1, 1)
    assert store.article("r2") is None and _chunks_of(store, "r2") == []


def test_bad_files_are_reported_and_everything_else_ingested(tmp_path, embed_model):
    folder = seed_copy(tmp_path)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (folder / "latin1.txt").write_bytes("Caf\xe9 owners met on Monday.".encode("latin-1"))
    (folder / "dump.jsonl").write_text(
        json.dumps({"id": "d1", "text": "The ferry to Quillon Island resumed service."}) + "\n"
        + "{broken\n"
        + json.dumps({"id": "d2", "title": "no text"}) + "\n",
        encoding="utf-8",
    )
    store = _fresh(tmp_path, embed_model)
    report = ingest(store, [folder], embed_model)
    assert report.added == 3  # the two seed articles and the good record
    assert store.article_count() == 3
    problems = "\n".join(report.problems)
    for name in ("empty.txt", "binary.txt", "latin1.txt", "dump.jsonl:2", "dump.jsonl:3"):
        assert name in problems
    assert len(report.problems) == 5

    # An article that is unreadable now is kept (not deleted) until it is fixed or removed.
    (folder / NZ).write_bytes(b"\xff\xfe broken now")
    report = ingest(store, [folder], embed_model)
    assert report.deleted == 0 and store.article(NZ) is not None
    assert any(NZ in p for p in report.problems)


def test_embedding_model_mismatch_says_how_to_rebuild(tmp_path, embed_model):
    # The real MiniLM under another name stands in for "a store built with another model".
    other = embed_model.model_copy(update={"model_name": "some-other-embedding-model"})
    settings = make_settings(tmp_path / "store")
    store = open_store(settings, other, writable=True)
    ingest(store, [seed_copy(tmp_path)], other)

    for writable in (False, True):
        with pytest.raises(EmbeddingMismatchError) as err:
            open_store(settings, embed_model, writable=writable)
        message = str(err.value)
        assert "some-other-embedding-model" in message and embed_model.model_name in message
        assert "bot ingest --rebuild" in message

    rebuilt = open_store(settings, embed_model, writable=True, rebuild=True)
    assert rebuilt.chunk_count() == 0 and rebuilt.article_count() == 0
    assert load_bm25(rebuilt.folder, 5) is None  # no lexical index of the old chunks either
    assert ingest(rebuilt, [seed_copy(tmp_path)], embed_model).added == 2
    assert open_store(settings, embed_model).article_count() == 2


def test_reading_a_store_that_does_not_exist(tmp_path, embed_model):
    with pytest.raises(StoreError, match="run `bot ingest` first"):
        open_store(make_settings(tmp_path / "nothing"), embed_model)


def test_a_slow_docstore_write_is_not_repeated_after_every_batch(tmp_path, embed_model, monkeypatch):
    # At tens of thousands of articles the docstore file takes seconds to rewrite; writing it after
    # every batch would make the ingest quadratic. Here a write takes 0.5 s and a batch far less.
    import time

    import bot.ingest as ingest_module
    from bot.store import Store

    folder = tmp_path / "articles"
    folder.mkdir()
    for k in range(6):
        (folder / f"a{k}.txt").write_text(f"Report {k}\n\nThe port of Portville{k} reopened on Monday.\n")
    monkeypatch.setattr(ingest_module, "BATCH_DOCS", 1)
    real_persist = Store.persist_docstore

    def slow_persist(self):
        time.sleep(0.5)
        real_persist(self)

    monkeypatch.setattr(Store, "persist_docstore", slow_persist)
    store = _fresh(tmp_path, embed_model)
    report = ingest(store, [folder], embed_model)
    # The first batch and the last are written; the four between follow within 20 x 0.5 s.
    assert report.added == 6 and report.docstore_writes == 2
    # What is on disk holds every article: a new reader sees them all, and a second run adds nothing.
    again = ingest(open_store(store.settings, embed_model, writable=True), [folder], embed_model)
    assert (again.added, again.unchanged) == (0, 6)
