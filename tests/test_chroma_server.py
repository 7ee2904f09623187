"""The vector store as a server: `chroma run` on 127.0.0.1, reached through chromadb.HttpClient.

Ingest and ask work as with the embedded store (the docstore and BM25 index stay in the local store
folder); a server stopped mid-session gives a clear error; after a restart the data is all there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bot.answer import QA
from bot.store import StoreError, open_store
from conftest import make_settings, seed_copy
from test_models import free_port

QUESTION = "Who is Canada's foreign minister?"
CHROMA = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")


class ChromaServer:
    def __init__(self, path: Path, port: int) -> None:
        self.path, self.port, self.proc = path, port, None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [CHROMA, "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", timeout=2).read()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"chroma run exited with {self.proc.returncode}")
                time.sleep(0.2)
        raise RuntimeError("chroma run did not come up in 60 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server"), free_port())
    server.start()
    yield server
    server.stop()


def cli(store: Path, port: int, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": str(port), "BOT_STORE": str(store)}
    env.pop("OPENAI_API_KEY", None)
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env, capture_output=True, text=True,
                          timeout=300, cwd=store.parent)


def test_ingest_ask_stop_restart(tmp_path, chroma_server, embed_model):
    store_dir = tmp_path / "store"
    articles = seed_copy(tmp_path)
    done = cli(store_dir, chroma_server.port, "ingest", str(articles))
    assert done.returncode == 0, done.stderr
    assert "added 2" in done.stdout
    # The vectors live in the server; the docstore and BM25 index stay in the local store folder.
    assert (store_dir / "docstore.json").is_file() and (store_dir / "bm25").is_dir()
    assert not (store_dir / "chroma").exists()

    settings = make_settings(store_dir, CHROMA_HOST="127.0.0.1", CHROMA_PORT=chroma_server.port)
    qa = QA(settings, embed_model=embed_model)
    chunks = qa.store.chunk_count()
    assert chunks > 0
    answer = qa.answer(QUESTION)
    assert not answer.refused and "Freeland" in answer.text and answer.citations

    chroma_server.stop()
    with pytest.raises(StoreError, match="lost the connection to the Chroma server at 127.0.0.1"):
        qa.answer(QUESTION)
    with pytest.raises(StoreError, match="cannot reach the Chroma server"):
        open_store(settings, embed_model)
    asked = cli(store_dir, chroma_server.port, "ask", QUESTION)
    assert asked.returncode == 1
    assert "cannot reach the Chroma server" in asked.stderr and "Traceback" not in asked.stderr

    chroma_server.start()
    again = qa.answer(QUESTION)  # the same session picks the restarted server up
    assert again.text == answer.text
    assert QA(settings, embed_model=embed_model).store.chunk_count() == chunks
    rerun = cli(store_dir, chroma_server.port, "ingest", str(articles))
    assert rerun.returncode == 0 and "unchanged 2" in rerun.stdout
