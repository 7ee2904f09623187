"""Shared fixtures: a real Chroma store of the seed corpus, built once per test session."""

from __future__ import annotations

import http.server
import json
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.config import PROJECT_DIR, Settings

CORPUS = PROJECT_DIR / "corpus"
VOA = "voa-vancouver-talks-pressuring-north-korea.txt"
NZ = "tillerson-maximum-pressure-vancouver.txt"


def seed_copy(tmp: Path) -> Path:
    """A private copy of the seed articles (tests that edit or delete files use this)."""
    folder = tmp / "articles"
    folder.mkdir(parents=True, exist_ok=True)
    for name in (VOA, NZ):
        shutil.copy(CORPUS / name, folder / name)
    return folder


def make_settings(store: Path, **overrides) -> Settings:
    return Settings(_env_file=None, store=store, **overrides)


@pytest.fixture(scope="session")
def embed_model():
    from bot.models import make_embed_model

    return make_embed_model(make_settings(Path("/nonexistent")))


@pytest.fixture(scope="session")
def seed_store(tmp_path_factory, embed_model):
    """(settings, store) with the seed corpus ingested; read-only for tests."""
    from bot.ingest import ingest
    from bot.store import open_store

    settings = make_settings(tmp_path_factory.mktemp("seed-store"))
    store = open_store(settings, embed_model, writable=True)
    ingest(store, [seed_copy(tmp_path_factory.mktemp("seed-corpus"))], embed_model)
    return settings, store


@pytest.fixture(scope="session")
def qa(seed_store, embed_model):
    from bot.answer import QA

    settings, store = seed_store
    return QA(settings, store, embed_model)


class _FixedReply(http.server.BaseHTTPRequestHandler):
    """An OpenAI-compatible chat server whose model always says `reply` (streamed in two pieces)."""

    reply = ""

    def do_POST(self):  # noqa: N802 (http.server's naming)
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if request.get("stream"):
            half = len(self.reply) // 2
            chunks = [
                {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                 "choices": [{"index": 0, "delta": {"role": "assistant", "content": piece}, "finish_reason": None}]}
                for piece in (self.reply[:half], self.reply[half:])
            ] + [{"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                  "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}]
            body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
            content_type = "text/event-stream"
        else:
            body = json.dumps({"id": "c", "object": "chat.completion", "created": 0, "model": "m",
                               "choices": [{"index": 0, "message": {"role": "assistant", "content": self.reply},
                                            "finish_reason": "stop"}],
                               "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})
            content_type = "application/json"
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class _FixedBody(http.server.BaseHTTPRequestHandler):
    """A server that answers every request with HTTP 200 and `body`, whatever was asked."""

    body = b""
    content_type = "application/json"

    def do_POST(self):  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    do_GET = do_POST

    def log_message(self, *args):
        pass


@contextmanager
def _serving(handler):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()


@contextmanager
def model_server_saying(reply: str):
    """The base URL (".../v1") of a server on 127.0.0.1 whose model always answers `reply`."""
    with _serving(type("Reply", (_FixedReply,), {"reply": reply})) as url:
        yield url


@contextmanager
def model_server_sending(body: str, content_type: str = "application/json"):
    """The base URL (".../v1") of a server on 127.0.0.1 that answers every request with HTTP 200 and
    `body` as it is: no chat completion unless `body` is one."""
    with _serving(type("Body", (_FixedBody,), {"body": body.encode(), "content_type": content_type})) as url:
        yield url
