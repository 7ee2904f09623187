"""Generator answerers against real models: llama.cpp's OpenAI-compatible server, the same server through
the openai client, and a GGUF in-process; plus every way a model server can fail.

The model is Gemma 3 270M (a small base model from PyPI): it invents a lot, so these tests assert what
the verifier guarantees, not how good the model is: every sentence shown is supported by the passage
it cites, and what is not supported is dropped (and listed in the notes), never shown.
"""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from bot.answer import QA
from bot.answer_types import Answer
from bot.evidence import Passage
from bot.generate import VerifiedStream, pack_passages
from bot.models import ModelConfigError, ModelServerError, default_gguf
from bot.text import split_sentences
from bot.verify import Verifier
from conftest import make_settings

QUESTION = "Who is Canada's foreign minister?"
FOLLOW_UP = "What did she say about the meeting?"
FAST = dict(llm_max_tokens=64, llm_context_window=1024, llm_timeout=300, llm_retries=0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, log, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"server at {url} did not come up in {seconds} s")


@pytest.fixture(scope="session")
def gemma_path():
    return default_gguf()


@pytest.fixture(scope="session")
def llama_server(gemma_path, tmp_path_factory):
    """llama-cpp-python's OpenAI-compatible server on 127.0.0.1, as a user would start it."""
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gemma_path), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "2048", "--n_threads", "2", "--model_alias", "gemma",
         "--verbose", "false"],
        stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/v1/models", proc, log)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


class _Refusing(http.server.BaseHTTPRequestHandler):
    """Answers like an OpenAI-compatible server that is unhappy: /401/... bad key, /404/... no such
    model, /500/... always failing (counting the attempts)."""

    attempts: dict[str, int] = {}

    def do_POST(self):  # noqa: N802 (http.server's naming)
        code = int(self.path.strip("/").split("/")[0])
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        _Refusing.attempts[str(code)] = _Refusing.attempts.get(str(code), 0) + 1
        messages = {401: "Incorrect API key provided: sk-sec***-key", 404: "The model `nope` does not exist",
                    500: "internal error"}
        body = json.dumps({"error": {"message": messages[code], "type": "error", "code": code}}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def refusing_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="session")
def stalling_server():
    """Accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held = []

    def accept():
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    sock.close()
    for conn in held:
        conn.close()


def run(qa: QA, question: str, history=None) -> tuple[list[str], Answer]:
    items = list(qa.stream(question, history))
    return [i for i in items if isinstance(i, str)], items[-1]


def assert_only_verified(pieces: list[str], answer: Answer, store, embed_model) -> None:
    """What a user sees: streamed text equals the answer; every sentence is supported by what it cites."""
    assert "".join(pieces) == answer.text
    if answer.refused:  # the small model's reply was all invented or cut off: each drop is explained
        assert answer.citations == [] and answer.text.startswith("The articles don't say")
        if answer.answerer != "extractive":  # the generator ran (not the evidence gate's refusal)
            assert any(n.startswith("dropped") or "no sentence" in n or "model said" in n for n in answer.notes)
        return
    verifier = Verifier(embed_model)
    by_n = {c.n: c for c in answer.citations}
    assert answer.citations, "an answer that is not a refusal must cite something"
    for c in answer.citations:
        assert store.article(c.doc_id).text[c.start : c.end] == c.quote  # offsets point at the quote
    for span in split_sentences(answer.text):
        numbers = [int(n) for n in __import__("re").findall(r"\[(\d+)\]", span.text)]
        assert numbers, f"sentence shown without a citation: {span.text!r}"
        claim = __import__("re").sub(r"\s*\[\d+\]", "", span.text).strip()
        for n in numbers:
            c = by_n[n]
            cited = Passage(rank=n, doc_id=c.doc_id, text=c.quote, start=c.start, score=c.score)
            assert verifier.support(claim, cited).ok, f"{claim!r} is not supported by [{n}] {c.quote!r}"
    for note in answer.notes:
        if note.startswith("dropped"):
            assert note.split('"')[1] not in answer.text


def generator_qa(seed_store, embed_model, **overrides) -> QA:
    settings, store = seed_store
    return QA(settings.model_copy(update=overrides), store, embed_model)


# --------------------------------------------------------------------------- real models
def test_openai_compatible_server_streams_a_verified_answer(seed_store, embed_model, llama_server):
    qa = generator_qa(seed_store, embed_model, answerer="openai-compatible", llm_base_url=llama_server,
                      llm_model="gemma", **FAST)
    pieces, answer = run(qa, QUESTION)
    assert answer.answerer.startswith("openai-compatible (gemma at http://127.0.0.1")
    assert pieces
    assert_only_verified(pieces, answer, seed_store[1], embed_model)

    # A follow-up goes through LlamaIndex's condense step with the same model.
    pieces, follow = run(qa, FOLLOW_UP, history=[(answer.question, answer.text)])
    assert follow.query and follow.query != FOLLOW_UP  # the condensed question, or the folded fallback
    assert_only_verified(pieces, follow, seed_store[1], embed_model)


def test_openai_answerer_through_openai_base_url(seed_store, embed_model, llama_server):
    qa = generator_qa(seed_store, embed_model, answerer="openai", openai_api_key="sk-dummy-local",
                      openai_base_url=llama_server, llm_model="gpt-4o-mini", **FAST)
    pieces, answer = run(qa, QUESTION)
    assert answer.answerer == f"openai (gpt-4o-mini via {llama_server})"
    assert pieces
    assert_only_verified(pieces, answer, seed_store[1], embed_model)


def test_gguf_in_process_answers_with_verified_citations(seed_store, embed_model):
    qa = generator_qa(seed_store, embed_model, answerer="gguf", llm_threads=2, **FAST)
    pieces, answer = run(qa, QUESTION)
    assert answer.answerer == "gguf (Gemma 3 270M from PyPI, a small base model)"
    assert any("small base model" in note for note in answer.notes)
    assert pieces
    assert_only_verified(pieces, answer, seed_store[1], embed_model)


def test_invented_sentences_are_dropped_while_streaming(seed_store, embed_model):
    """The streaming verifier on a known reply: supported sentences stream, invented ones never show."""
    settings, store = seed_store
    qa = QA(settings, store, embed_model)
    from bot.evidence import passages_from

    passages = passages_from(qa.retriever.retrieve(QUESTION)[:4])
    reply = ("Canada's Foreign Minister Chrystia Freeland co-hosted the meeting. [1] "
             "Freeland was born on the Moon in 1850 [2]. The meeting served pancakes to every diplomat [1].")
    refusal = "The articles don't say: I found nothing in the corpus that answers this question."
    stream = VerifiedStream(Verifier(embed_model), passages, refusal)
    shown = []
    for i in range(0, len(reply), 7):  # arrives in small pieces, as tokens do
        shown += stream.feed(reply[i : i + 7])
        assert all("Moon" not in s and "pancakes" not in s for s in shown)
    shown += stream.finish()
    text = "".join(shown)
    assert "Freeland" in text and "[1]" in text
    assert "Moon" not in text and "pancakes" not in text
    assert len(stream.dropped) == 2 and stream.citations


# --------------------------------------------------------------------------- packing
def test_passages_are_packed_by_whole_sentences():
    text = "First sentence is here. Second sentence is here. Third sentence is here."
    passages = [Passage(rank=i, doc_id=f"d{i}", text=text, start=10, score=1.0) for i in (1, 2, 3)]
    count = lambda s: len(s.split())  # noqa: E731 (a word count is enough to test the packing rule)
    packed = pack_passages(passages, budget=22, count=count, window=100)
    assert [p.rank for p in packed.passages] == [1, 2]
    assert packed.passages[0].text == text
    assert packed.passages[1].text == "First sentence is here. Second sentence is here."
    assert any("shortened to its first 2 of 3 sentences" in n for n in packed.notes)
    assert any("1 of 3 retrieved passages were left out" in n for n in packed.notes)
    with pytest.raises(ModelConfigError, match="too small"):
        pack_passages(passages, budget=3, count=count, window=100)


def test_context_window_too_small_is_a_clear_error(seed_store, embed_model, stalling_server):
    qa = generator_qa(seed_store, embed_model, answerer="openai-compatible", llm_base_url=stalling_server,
                      llm_model="m", llm_context_window=200, llm_max_tokens=64, llm_retries=0, llm_timeout=2)
    with pytest.raises(ModelConfigError, match="context window .* too small"):
        qa.answer(QUESTION)


# --------------------------------------------------------------------------- failures
def test_unreachable_server(seed_store, embed_model):
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    qa = generator_qa(seed_store, embed_model, answerer="openai-compatible", llm_base_url=url,
                      llm_model="m", llm_retries=0, llm_connect_timeout=2)
    with pytest.raises(ModelServerError, match=f"cannot reach the model server at {url}"):
        qa.answer(QUESTION)


def test_wrong_key_is_reported_without_the_key(seed_store, embed_model, refusing_server):
    secret = "sk-secret-key-123456"
    qa = generator_qa(seed_store, embed_model, answerer="openai", openai_api_key=secret,
                      openai_base_url=f"{refusing_server}/401/v1", llm_retries=0)
    with pytest.raises(ModelServerError, match="rejected the API key") as err:
        qa.answer(QUESTION)
    assert secret not in str(err.value) and "sk-sec" not in str(err.value)


def test_unknown_model(seed_store, embed_model, refusing_server):
    qa = generator_qa(seed_store, embed_model, answerer="openai-compatible",
                      llm_base_url=f"{refusing_server}/404/v1", llm_model="nope", llm_retries=0)
    with pytest.raises(ModelServerError, match="does not know model 'nope'"):
        qa.answer(QUESTION)


def test_server_errors_are_retried_then_reported(seed_store, embed_model, refusing_server):
    qa = generator_qa(seed_store, embed_model, answerer="openai-compatible",
                      llm_base_url=f"{refusing_server}/500/v1", llm_model="m", llm_retries=2)
    before = _Refusing.attempts.get("500", 0)
    with pytest.raises(ModelServerError, match=r"failed \(HTTP 500\) on all 3 attempts"):
        qa.answer(QUESTION)
    assert _Refusing.attempts["500"] - before == 3


def test_stalled_server_times_out(seed_store, embed_model, stalling_server):
    qa = generator_qa(seed_store, embed_model, answerer="openai-compatible", llm_base_url=stalling_server,
                      llm_model="m", llm_timeout=1.5, llm_retries=0)
    with pytest.raises(ModelServerError, match="did not answer within 1.5 s"):
        qa.answer(QUESTION)


def test_bad_gguf_paths(tmp_path, seed_store, embed_model):
    with pytest.raises(ModelConfigError, match="no such file"):
        generator_qa(seed_store, embed_model, answerer="gguf", gguf_path=tmp_path / "missing.gguf").answer(QUESTION)
    fake = tmp_path / "fake.gguf"
    fake.write_text("not a model")
    with pytest.raises(ModelConfigError, match="not a GGUF model file"):
        generator_qa(seed_store, embed_model, answerer="gguf", gguf_path=fake).answer(QUESTION)


def test_missing_settings_are_named(tmp_path):
    from bot.models import make_embed_model, make_llm

    with pytest.raises(ModelConfigError, match="OPENAI_API_KEY"):
        make_llm(make_settings(tmp_path, answerer="openai"))
    with pytest.raises(ModelConfigError, match="BOT_LLM_BASE_URL"):
        make_llm(make_settings(tmp_path, answerer="openai-compatible"))
    with pytest.raises(ModelConfigError, match="BOT_EMBED_BASE_URL"):
        make_embed_model(make_settings(tmp_path, embed="openai-compatible"))


def test_startup_line_says_which_answerer(tmp_path):
    from bot.cli import startup_line

    keyed = make_settings(tmp_path, OPENAI_API_KEY="sk-abc")
    line = startup_line(keyed)
    assert line.startswith("answerer: extractive") and "OPENAI_API_KEY is set but not used" in line
    assert "sk-abc" not in line
    line = startup_line(make_settings(tmp_path, answerer="gguf"))
    assert "gguf (Gemma 3 270M" in line and "small base model" in line
    line = startup_line(make_settings(tmp_path, CHROMA_HOST="127.0.0.1", CHROMA_PORT=8123))
    assert "Chroma server 127.0.0.1:8123" in line


def test_a_sentence_cut_off_by_the_token_limit_is_not_shown(seed_store, embed_model):
    settings, store = seed_store
    from bot.evidence import passages_from

    passages = passages_from(QA(settings, store, embed_model).retriever.retrieve(QUESTION)[:4])
    stream = VerifiedStream(Verifier(embed_model), passages, "The articles don't say.")
    shown = stream.feed("Canada's Foreign Minister Chrystia Freeland co-hosted the meeting [1]. Canada's Foreign")
    shown += stream.finish(cut_off=True)
    assert "Freeland" in "".join(shown) and not "".join(shown).endswith("Foreign")
    assert stream.cut == "Canada's Foreign"


def test_an_unreachable_embedding_server_is_one_line_without_retry_logs(tmp_path):
    import os

    closed = free_port()  # nothing listens there once the socket is closed
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "OPENAI_"))}
    env.update(BOT_EMBED="openai-compatible", BOT_EMBED_BASE_URL=f"http://127.0.0.1:{closed}/v1")  # default retries
    run = subprocess.run([sys.executable, "-m", "bot.cli", "ingest", "--store", str(tmp_path / "store")],
                         env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr[-2000:]
    assert "Retrying" not in run.stderr and "APIConnectionError" not in run.stderr, run.stderr
    assert run.stderr.splitlines() == [
        f"error: cannot reach the model server at http://127.0.0.1:{closed}/v1: is it running, and is the URL "
        "right (BOT_LLM_BASE_URL / OPENAI_BASE_URL / BOT_EMBED_BASE_URL)?"
    ]
