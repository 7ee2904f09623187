"""A model server that breaks mid-answer: a malformed stream, a stream cut off before it ends, a reply that
is not a stream at all. The user gets the verified part of the answer or one clear message, and the chat
goes on. (Timeouts, 5xx, wrong key, unknown model: tests/test_models.py.)"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading

import pytest

from bot.answer import QA
from bot.models import ModelServerError
from conftest import model_server_sending

QUESTION = "Who is Canada's foreign minister?"
GOOD = "Canada's Minister of Foreign Affairs is Chrystia Freeland [1]. "
INVENTED = "Freeland was born on the Moon [1]. "


def _chunk(text: str | None, finish: str | None = None) -> str:
    delta = {"content": text} if text else {}
    return "data: " + json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                                  "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}) + "\n\n"


class _Broken(http.server.BaseHTTPRequestHandler):
    """/malformed/v1: a good sentence, then a chunk that is not JSON. /truncated/v1: a good sentence and half
    of another, then the connection closes (no finish, no [DONE]). /html/v1: a proxy's HTML page with 200.
    /repeated/v1: a small model looping, a good and an invented sentence three times each."""

    def do_POST(self):  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        mode = self.path.strip("/").split("/")[0]
        if mode == "malformed":
            body, kind = _chunk(GOOD) + "data: {not json at all\n\n" + _chunk(None, "stop") + "data: [DONE]\n\n", "text/event-stream"
        elif mode == "repeated":
            body = "".join(_chunk(GOOD) + _chunk(INVENTED) for _ in range(3)) + _chunk(None, "stop") + "data: [DONE]\n\n"
            kind = "text/event-stream"
        elif mode == "truncated":
            body, kind = _chunk(GOOD) + _chunk("She told the gathering that nations must impro"), "text/event-stream"
        else:
            body, kind = "<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.end_headers()  # no Content-Length: the body ends when the connection closes (HTTP/1.0)
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def broken_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Broken)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def generator(seed_store, embed_model, url: str) -> QA:
    settings, store = seed_store
    update = {"answerer": "openai-compatible", "llm_model": "m", "llm_retries": 0, "llm_timeout": 30,
              "llm_base_url": url}
    return QA(settings.model_copy(update=update), store, embed_model)


def test_stream_cut_off_shows_the_verified_part(seed_store, embed_model, broken_server):
    items = list(generator(seed_store, embed_model, f"{broken_server}/truncated/v1").stream(QUESTION))
    answer = items[-1]
    shown = "".join(i for i in items if isinstance(i, str))
    assert not answer.refused and "Freeland" in answer.text and answer.citations
    assert "impro" not in shown and "impro" not in answer.text  # the cut sentence never shows
    assert any("impro" in note for note in answer.notes)  # and the user is told it was dropped


def test_a_looping_model_shows_each_sentence_and_note_once(seed_store, embed_model, broken_server):
    answer = generator(seed_store, embed_model, f"{broken_server}/repeated/v1").answer(QUESTION)
    assert not answer.refused and answer.text.count("Chrystia Freeland") == 1
    assert len(answer.notes) == len(set(answer.notes))
    assert len([note for note in answer.notes if "Moon" in note]) == 1


def test_malformed_stream_is_one_clear_error(seed_store, embed_model, broken_server):
    qa = generator(seed_store, embed_model, f"{broken_server}/malformed/v1")
    with pytest.raises(ModelServerError, match="not valid JSON|malformed"):
        list(qa.stream(QUESTION))


def test_html_instead_of_a_stream_is_one_clear_error(seed_store, embed_model, broken_server):
    # Not a refusal: the articles were never asked about, the server is broken.
    qa = generator(seed_store, embed_model, f"{broken_server}/html/v1")
    with pytest.raises(ModelServerError, match=f"at {broken_server}/html/v1 returned an invalid or empty response"):
        qa.answer(QUESTION)


@pytest.mark.parametrize("body", ['{"not":"what you expect"}', "", "[1, 2]", 'data: {"not": "a chunk"}\n\ndata: [DONE]\n\n'],
                         ids=["other-json", "empty", "json-list", "stream-of-other-json"])
def test_a_reply_that_is_not_a_chat_completion_is_an_error_not_a_refusal(seed_store, body):
    settings, _ = seed_store
    kind = "text/event-stream" if body.startswith("data:") else "application/json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "OPENAI_"))}
    with model_server_sending(body, kind) as url:
        env.update(BOT_ANSWERER="openai-compatible", BOT_LLM_MODEL="m", BOT_LLM_RETRIES="0", BOT_LLM_BASE_URL=url)
        run = subprocess.run([sys.executable, "-m", "bot.cli", "ask", QUESTION, "--store", str(settings.store)],
                             env=env, cwd="/", capture_output=True, text=True, timeout=300)
    assert "Traceback" not in run.stderr + run.stdout, run.stderr[-3000:]
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert run.returncode == 1 and len(errors) == 1, (run.returncode, run.stderr[-2000:])
    assert f"error: the model server at {url} returned an invalid or empty response" in errors[0]
    assert "The articles don't say" not in run.stdout


def test_a_server_that_stops_mid_answer_is_named_as_stopped(seed_store, embed_model):
    # Killed while it read the prompt: its 200 came with no completion. The message blamed the URL and
    # asked whether it was an OpenAI-compatible server.
    class _DiesAfterHeaders(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.server.socket.close()  # stops listening before it answers: no new connection gets in
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), _DiesAfterHeaders)
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    threading.Thread(target=server.handle_request, daemon=True).start()
    with pytest.raises(ModelServerError, match=f"at {url} closed the connection without answering.*has it stopped"):
        generator(seed_store, embed_model, url).answer(QUESTION)


def test_terminal_chat_goes_on_after_a_model_failure(seed_store, broken_server):
    settings, _ = seed_store
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "OPENAI_"))}
    env.update(BOT_ANSWERER="openai-compatible", BOT_LLM_MODEL="m", BOT_LLM_RETRIES="0",
               BOT_LLM_BASE_URL=f"{broken_server}/malformed/v1")
    run = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--store", str(settings.store)], env=env, cwd="/",
        input=f"{QUESTION}\nWho is South Korea's foreign minister?\n", capture_output=True, text=True, timeout=300,
    )
    assert "Traceback" not in run.stderr + run.stdout, run.stderr[-3000:]
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert run.returncode == 0 and len(errors) == 2, run.stderr[-2000:]  # both questions tried; chat ended at EOF
