"""The Chroma collection (embedded or a server), the persisted docstore, and the embedding-model guard."""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chromadb
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.storage.docstore import SimpleDocumentStore
from llama_index.vector_stores.chroma import ChromaVectorStore

from bot.config import Settings

DOCSTORE_FILE = "docstore.json"
INFO_FILE = "ingest_info.json"


class StoreError(RuntimeError):
    """The store cannot be used as asked; the message says what to do."""


class EmbeddingMismatchError(StoreError):
    pass


def embedding_dimension(embed_model: BaseEmbedding) -> int:
    dim = getattr(embed_model, "dimension", None)
    if isinstance(dim, int):
        return dim
    return len(embed_model.get_text_embedding("dimension probe"))


_kill_counts: dict[str, int] = {}


def kill_point_for_tests(point: str) -> None:
    """Test hook, not a setting: with BOT_TEST_KILL_AT=<point>:<n> the process SIGKILLs itself the n-th
    time it reaches <point> (tests/test_interrupted_ingest.py); <point>:<n>:TERM sends SIGTERM instead.
    Unset, it costs one environment lookup."""
    wanted = os.environ.get("BOT_TEST_KILL_AT")
    if not wanted:
        return
    how = signal.SIGKILL
    if wanted.endswith(":TERM"):
        wanted, how = wanted.removesuffix(":TERM"), signal.SIGTERM
    name, _, nth = wanted.rpartition(":")
    if name != point:
        return
    _kill_counts[point] = _kill_counts.get(point, 0) + 1
    if str(_kill_counts[point]) == nth:
        os.kill(os.getpid(), how)


def stale_temp_files(folder: Path) -> list[Path]:
    """Temporary files a killed write left behind (see atomic_write_text)."""
    from bot.spelling import VOCABULARY_FILE  # here, not at the top: bot.spelling imports this module

    return [p for name in (DOCSTORE_FILE, INFO_FILE, VOCABULARY_FILE) for p in folder.glob(f".{name}.*.tmp")]


def atomic_write_text(path: Path, text: str) -> None:
    """Write then rename, so a killed process leaves the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            half = len(text) // 2
            fh.write(text[:half])
            fh.flush()
            kill_point_for_tests(f"write-{path.name}")
            fh.write(text[half:])
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def ingest_hint(folder: Path) -> str:
    """How to fill the store at `folder`; `--store` is named unless it is the default folder."""
    hint = "run `bot ingest` first"  # bot/app.py looks for these words to offer its ingest button
    if folder == Path(Settings.model_fields["store"].default).resolve():
        return hint
    return f"{hint} (`bot ingest PATH --store {folder}`)"


def require_articles(store: Store) -> None:
    """An index without articles would refuse every question: say how to fill it instead."""
    if store.article_count() == 0:
        raise StoreError(f"the index at {store.folder} is empty: {ingest_hint(store.folder)}")


def _check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StoreError(f"cannot create the store folder {folder}: {err.strerror}") from None
    if not os.access(folder, os.W_OK):
        raise StoreError(
            f"the store folder {folder} is read-only; choose another with --store or BOT_STORE, "
            "or make it writable"
        )


@dataclass
class Store:
    """One corpus index: a Chroma collection plus the docstore that makes ingest incremental."""

    settings: Settings
    folder: Path
    client: Any
    collection: Any
    docstore: SimpleDocumentStore

    @property
    def vector_store(self) -> ChromaVectorStore:
        return ChromaVectorStore(chroma_collection=self.collection)

    @property
    def docstore_path(self) -> Path:
        return self.folder / DOCSTORE_FILE

    def persist_docstore(self) -> None:
        atomic_write_text(self.docstore_path, json.dumps(self.docstore.to_dict()))

    def chunk_count(self) -> int:
        return self.collection.count()

    def article_count(self) -> int:
        return len(self.docstore.get_all_document_hashes())

    def read_info(self) -> dict:
        path = self.folder / INFO_FILE
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return {}

    def write_info(self, info: dict) -> None:
        atomic_write_text(self.folder / INFO_FILE, json.dumps(info, indent=2))

    def article(self, doc_id: str):
        """The whole stored article (text and metadata), or None."""
        return self.docstore.get_document(doc_id, raise_error=False)


def _client(settings: Settings, folder: Path, writable: bool) -> Any:
    if settings.chroma_host:
        headers = {}
        if settings.chroma_token:
            headers["Authorization"] = f"Bearer {settings.chroma_token.get_secret_value()}"
        if writable:
            _check_writable(folder)  # the docstore and the BM25 index stay in the local store folder
        from chromadb.config import Settings as ChromaSettings

        try:
            client = chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, headers=headers,
                settings=ChromaSettings(anonymized_telemetry=False),
            )
            client.heartbeat()
        except Exception as err:  # chromadb raises several types for a server that is not there
            raise StoreError(
                f"cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port} "
                f"({type(err).__name__}); start it with `chroma run --path DIR --host "
                f"{settings.chroma_host} --port {settings.chroma_port}` or unset CHROMA_HOST"
            ) from None
        return client
    if writable:
        _check_writable(folder)
    elif not (folder / "chroma").exists():
        raise StoreError(f"no index at {folder}: {ingest_hint(folder)}")
    from chromadb.config import Settings as ChromaSettings

    return chromadb.PersistentClient(
        path=str(folder / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )


class ServerCollection:
    """A Chroma server's collection whose lost connection (a server stopped mid-session) becomes a
    StoreError that says what to do, instead of an httpx traceback."""

    def __init__(self, collection: Any, where: str) -> None:
        self._collection, self._where = collection, where

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._collection, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            import httpx

            try:
                return attr(*args, **kwargs)
            except httpx.TransportError as err:
                host, _, port = self._where.rpartition(":")
                raise StoreError(
                    f"lost the connection to the Chroma server at {self._where} ({type(err).__name__}): "
                    f"is it still running? Start it again with `chroma run --path DIR --host {host} "
                    f"--port {port}` (same DIR: the data is kept) and retry"
                ) from None

        return call


def open_store(
    settings: Settings, embed_model: BaseEmbedding, *, writable: bool = False, rebuild: bool = False
) -> Store:
    """Open (or, when writable, create) the store and check it was built with this embedding model."""
    folder = Path(settings.store).expanduser().resolve()
    if folder.exists() and not folder.is_dir():  # else mkdir's "File exists", or "no index" for a read
        raise StoreError(f"the store {folder} is a file, not a folder: choose a folder with --store or BOT_STORE")
    client = _client(settings, folder, writable)
    wanted = {"embed_model": embed_model.model_name, "embed_dim": embedding_dimension(embed_model)}
    name = settings.collection
    if rebuild:
        try:
            client.delete_collection(name)
        except Exception:  # not there yet: nothing to delete
            pass
        (folder / DOCSTORE_FILE).unlink(missing_ok=True)
        (folder / INFO_FILE).unlink(missing_ok=True)
        from bot.lexical import BM25_DIR

        shutil.rmtree(folder / BM25_DIR, ignore_errors=True)  # else its old chunks outlive the rebuild
    try:
        collection = client.get_collection(name, embedding_function=None)
    except Exception:
        if not writable:
            raise StoreError(f"no index at {folder}: {ingest_hint(folder)}") from None
        collection = client.create_collection(
            name, metadata=wanted, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
        )
    if settings.chroma_host:
        collection = ServerCollection(collection, f"{settings.chroma_host}:{settings.chroma_port}")
    found = {k: (collection.metadata or {}).get(k) for k in wanted}
    if found != wanted:
        raise EmbeddingMismatchError(
            f"the index at {folder} was built with embedding model {found['embed_model']} "
            f"({found['embed_dim']} dimensions), but the configured model is {wanted['embed_model']} "
            f"({wanted['embed_dim']} dimensions). Rebuild it with `bot ingest --rebuild`, or set the "
            "embedding model back."
        )
    docstore_path = folder / DOCSTORE_FILE
    if docstore_path.exists():
        try:
            docstore = SimpleDocumentStore.from_dict(json.loads(docstore_path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as err:
            raise StoreError(
                f"the docstore {docstore_path} is unreadable ({err}); rebuild with `bot ingest --rebuild`"
            ) from None
    else:
        docstore = SimpleDocumentStore()
    return Store(settings=settings, folder=folder, client=client, collection=collection, docstore=docstore)
