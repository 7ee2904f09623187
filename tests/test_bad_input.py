"""Bad input through the real CLI (subprocesses): every case gives one clear `error:`/`warning:` line, never a
traceback, and everything that can be read is still ingested or answered. The README's "Reliability" table
lists these cases and the messages."""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import NZ, VOA, make_settings, seed_copy

GOOD_DUMP = [
    {"id": "tay-flood", "title": "Tay floods Perth", "published": "2018-01-15",
     "text": "The river Tay flooded parts of Perth on Monday, the council said. Forty homes were evacuated."},
    {"id": "glasgow-library", "title": "Glasgow library",
     "text": "Glasgow opened a new public library on Friday. It holds 90,000 books."},
]


def bot(*args: str, env: dict | None = None, cwd: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "OPENAI_"))}
    clean.update(env or {})
    run = subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], env=clean, cwd=cwd or Path("/"), input=stdin,
        capture_output=True, text=True, timeout=300,
    )
    assert "Traceback" not in run.stderr + run.stdout, run.stderr[-3000:]
    return run


def lines(text: str, prefix: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(prefix)]


def one_error(run: subprocess.CompletedProcess, *expected: str) -> str:
    errors = lines(run.stderr, "error:")
    assert run.returncode != 0 and len(errors) == 1, (run.returncode, run.stderr[-2000:])
    for text in expected:
        assert text in errors[0], (text, errors[0])
    return errors[0]


@pytest.fixture(scope="module")
def messy(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A folder with good articles and every kind of bad file; name -> the warning it must get."""
    tmp = tmp_path_factory.mktemp("messy")
    folder = seed_copy(tmp)
    expect: dict[str, str] = {}

    def bad(name: str, message: str, content: bytes | None = b"") -> Path:
        path = folder / name
        if content is not None:
            path.write_bytes(content)
        expect[name] = message
        return path

    bad("empty.txt", "skipped, the file is empty")
    bad("blank.md", "skipped, the file has only white space", b" \n\t\n  \n")
    bad("binary.txt", "it looks binary (it has NUL bytes)", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10)
    bad("latin1.txt", "it is not UTF-8 text (byte 0xe9 at offset 3); save it as UTF-8",
        "Café reopens\n\nThe café reopened on Monday.".encode("latin-1"))
    with open(bad("huge.txt", "skipped, the file is 52.4 MB, over the 20 MB limit (BOT_MAX_FILE_MB)", None), "wb") as fh:
        fh.truncate(50 * 1024 * 1024)  # sparse: 50 MB on paper, instant to make
    if os.geteuid() != 0:
        unreadable = bad("locked.txt", "skipped, Permission denied", b"A locked article.\n")
        unreadable.chmod(0)
    else:  # root reads any file whatever its mode; a link whose target is gone cannot be read either
        (folder / "locked.txt").symlink_to(tmp / "deleted-article.txt")
        expect["locked.txt"] = "skipped, it is a link to a file that does not exist"
    os.mkfifo(folder / "pipe.txt")  # reading it would wait forever
    expect["pipe.txt"] = "skipped, it is not a regular file (a pipe, device or socket)"
    (folder / "nested").mkdir()
    (folder / "nested" / "loop").symlink_to("..", target_is_directory=True)
    dump = [json.dumps(GOOD_DUMP[0]), '{"id": "broken", "text": "no closing quote}',
            json.dumps({"id": "no-text", "title": "A record without text"}),
            json.dumps({"id": "tay-flood", "text": "A second record with the same id."}),
            json.dumps(GOOD_DUMP[1])]
    bad("dump.jsonl", "", ("\n".join(dump) + "\n").encode())
    expect.pop("dump.jsonl")
    expect["dump.jsonl:2"] = "not valid JSON"
    expect["dump.jsonl:3"] = "the record has no 'text'"
    expect["dump.jsonl:4"] = "duplicate article id 'tay-flood', kept the first"
    bad("broken.json", "not valid JSON", b'{"articles": [{"id": "x", "text": "unterminated')
    (folder / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (folder / "report.pdf").write_bytes(b"%PDF-1.4\n")
    return folder, expect


@pytest.fixture(scope="module")
def ingested(messy, tmp_path_factory):
    folder, expect = messy
    store = tmp_path_factory.mktemp("messy-store") / "store"
    run = bot("ingest", str(folder), "--store", str(store))
    return folder, expect, store, run


def test_bad_files_are_named_and_the_rest_is_ingested(ingested):
    folder, expect, store, run = ingested
    assert run.returncode == 0, run.stderr[-2000:]
    warnings = lines(run.stderr, "warning:")
    for name, message in expect.items():
        matching = [w for w in warnings if f"{folder}/{name}" in w]
        assert len(matching) == 1, (name, warnings)
        assert message in matching[0], (name, matching[0])
    assert len(warnings) == len(expect)  # one line per bad file or record, nothing else
    skipped = lines(run.stderr, "skipped:")
    for name in ("photo.png", "report.pdf"):  # unsupported types are listed, not read
        assert any(name in s and "not an article type" in s for s in skipped), skipped
    assert any("nested/loop" in s and "link loop" in s for s in skipped), skipped
    # Nothing lost: both seed articles and the two good dump records.
    assert "added 4," in run.stdout, run.stdout
    docstore = json.loads((store / "docstore.json").read_text(encoding="utf-8"))
    assert set(docstore["docstore/metadata"]) == {VOA, NZ, "tay-flood", "glasgow-library"}


def test_good_records_of_a_damaged_dump_are_answerable(ingested):
    _, _, store, _ = ingested
    run = bot("ask", "How many books does the new Glasgow library hold?", "--json", "--store", str(store))
    assert run.returncode == 0, run.stderr[-2000:]
    answer = json.loads(run.stdout)
    assert "90,000" in answer["answer"] and answer["citations"][0]["source"] == "glasgow-library"


def test_bad_questions_get_one_clear_line(seed_store):
    settings, _ = seed_store
    store = str(settings.store)
    long_question = ("Who is Canada's foreign minister and what did she say? " * 400)[:20_000]
    cases = {
        "empty": ("", ["the question is empty"]),
        "whitespace": (" \t \n  ", ["the question is empty"]),
        "20,000 characters": (long_question, ["20,000 characters long; the limit is 2,000 (BOT_MAX_QUESTION_CHARS)"]),
        "only stop words": ("what is the?", ["no words to search for"]),
    }
    answered = {
        "control characters": "Who is\x1b[31m Canada's\x07 foreign\u200b minister?\r",
        "German": "Wer ist die Außenministerin von Kanada?",
    }
    cases["Chinese"] = ("加拿大的外交部长是谁？", ["no words the search can use", "ask in English"])
    with ThreadPoolExecutor(4) as pool:
        failing = {k: pool.submit(bot, "ask", q, "--store", store) for k, (q, _) in cases.items()}
        working = {k: pool.submit(bot, "ask", q, "--json", "--store", store) for k, q in answered.items()}
        limited = pool.submit(bot, "ask", "Who is Canada's foreign minister?", "--store", store,
                              env={"BOT_MAX_QUESTION_CHARS": "20"})
    for name, (_, expected) in cases.items():
        one_error(failing[name].result(), *expected)
    one_error(limited.result(), "the limit is 20 (BOT_MAX_QUESTION_CHARS)")
    for name, future in working.items():
        run = future.result()
        assert run.returncode == 0 and not lines(run.stderr, "error:"), (name, run.stderr[-2000:])
        answer = json.loads(run.stdout)  # answered or refused, in the same JSON shape
        assert answer["refused"] or answer["citations"], name
        if name == "control characters":
            assert "Freeland" in answer["answer"] and "\x1b" not in run.stdout


def test_nul_and_control_characters_through_the_api(qa):
    answer = qa.answer("Who is Canada's\x00 foreign\x1b minister?\x7f")
    assert "Freeland" in answer.text and "\x00" not in answer.question


def test_missing_path_and_a_store_that_cannot_be_made(tmp_path):
    missing = bot("ingest", str(tmp_path / "no-such-folder"), "--store", str(tmp_path / "s"))
    one_error(missing, "nothing ingested", "no such file or folder")
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    run = bot("ingest", str(tmp_path), "--store", str(blocker / "store"))
    one_error(run, "cannot create the store folder", "Not a directory")


def test_a_folder_with_no_articles_is_an_error_not_a_silent_success(tmp_path):
    # It printed "added 0 ..." and exited 0, while a folder whose every file was skipped exits 1.
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "questions-only").mkdir()
    (tmp_path / "questions-only" / "questions.jsonl").write_text('{"id": "q1", "question": "Who?"}\n')
    for folder in (empty, tmp_path / "questions-only"):
        run = bot("ingest", str(folder), "--store", str(tmp_path / "store"))
        one_error(run, f"no articles found in {folder}", ".txt")


def test_a_store_that_is_a_file_is_named_as_one(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for args in (("ingest", str(seed_copy(tmp_path))), ("ask", "Who is Canada's foreign minister?")):
        run = bot(*args, "--store", str(blocker))
        one_error(run, f"the store {blocker} is a file, not a folder: choose a folder with --store or BOT_STORE")
    assert blocker.read_text() == "x"


def _make_read_only(folder: Path) -> tuple[bool, callable]:
    """Read-only for this user: chmod for a normal user; root ignores modes, so the immutable flag."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return True, lambda: folder.chmod(0o755)
    made = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
    return made.returncode == 0, lambda: subprocess.run(["chattr", "-i", str(folder)], capture_output=True)


def test_read_only_store_refuses_ingest_but_still_answers(tmp_path, embed_model):
    from bot.ingest import ingest
    from bot.store import open_store

    folder = seed_copy(tmp_path)
    settings = make_settings(tmp_path / "store")
    ingest(open_store(settings, embed_model, writable=True), [folder], embed_model)
    (folder / "new.txt").write_text("Dundee opened a ferry terminal on Sunday.\n", encoding="utf-8")
    locked, unlock = _make_read_only(settings.store)
    assert locked, "could not make the store read-only (chattr failed)"
    try:
        run = bot("ingest", str(folder), "--store", str(settings.store))
        one_error(run, "is read-only", "choose another with --store")
        asked = bot("ask", "Who is Canada's foreign minister?", "--json", "--store", str(settings.store))
        assert asked.returncode == 0 and "Freeland" in json.loads(asked.stdout)["answer"]
    finally:
        unlock()


def test_store_built_with_another_embedding_model(tmp_path, embed_model):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from bot.ingest import ingest
    from bot.store import open_store

    folder = seed_copy(tmp_path)
    settings = make_settings(tmp_path / "store")
    ingest(open_store(settings, embed_model, writable=True), [folder], embed_model)
    client = chromadb.PersistentClient(path=str(settings.store / "chroma"), settings=ChromaSettings(anonymized_telemetry=False))
    # What a store built with OpenAI's text-embedding-3-small records about itself.
    client.get_collection("news").modify(metadata={"embed_model": "text-embedding-3-small", "embed_dim": 1536})
    for args in (("ask", "Who is Canada's foreign minister?"), ("ingest", str(folder))):
        run = bot(*args, "--store", str(settings.store))
        one_error(run, "built with embedding model text-embedding-3-small (1536 dimensions)", "bot ingest --rebuild")


def test_invalid_settings_are_named_not_dumped(tmp_path):
    run = bot("ask", "Who is Canada's foreign minister?", "--store", str(tmp_path),
              env={"BOT_MAX_FILE_MB": "-1", "BOT_TOP_K": "many"})
    one_error(run, "invalid setting", "BOT_TOP_K", "BOT_MAX_FILE_MB")


def test_file_size_cap_is_a_setting(tmp_path):
    folder = seed_copy(tmp_path)
    with open(folder / "big.txt", "wb") as fh:
        fh.truncate(2_000_000)
    run = bot("ingest", str(folder), "--store", str(tmp_path / "store"), env={"BOT_MAX_FILE_MB": "1"})
    assert run.returncode == 0 and "added 2," in run.stdout
    (warning,) = lines(run.stderr, "warning:")
    assert "big.txt: skipped, the file is 2.0 MB, over the 1 MB limit (BOT_MAX_FILE_MB)" in warning


# --------------------------------------------------------------------------- secrets never printed
SECRETS = {"OPENAI_API_KEY": "sk-test-SECRET123", "BOT_LLM_API_KEY": "sk-llm-SECRET456",
           "CHROMA_TOKEN": "chroma-SECRET789"}


class _EchoesTheKey(http.server.BaseHTTPRequestHandler):
    """A model server that fails (status from the URL: /401/v1, /400/v1, /500/v1) and, like some real
    ones, quotes the key it was sent in its error message."""

    def do_POST(self):  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        key = self.headers.get("Authorization", "").removeprefix("Bearer ")
        body = json.dumps({"error": {"message": f"Incorrect API key provided: {key}", "type": "error"}}).encode()
        self.send_response(int(self.path.strip("/").split("/")[0]))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, *args):
        pass


def test_keys_never_appear_in_output_or_errors(seed_store):
    settings, _ = seed_store
    store = str(settings.store)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EchoesTheKey)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    echo = f"http://127.0.0.1:{server.server_address[1]}"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]  # nothing listens there once the socket is closed
    question = "Who is Canada's foreign minister?"
    generator = {"BOT_ANSWERER": "openai-compatible", "BOT_LLM_MODEL": "m", "BOT_LLM_RETRIES": "0",
                 "BOT_LLM_CONNECT_TIMEOUT": "2"}
    runs = {
        "server down": (generator | {"BOT_LLM_BASE_URL": f"http://127.0.0.1:{closed}/v1"}, True),
        "key rejected": ({"BOT_ANSWERER": "openai", "OPENAI_BASE_URL": f"{echo}/401/v1", "BOT_LLM_RETRIES": "0"}, True),
        "bad request": (generator | {"BOT_LLM_BASE_URL": f"{echo}/400/v1"}, True),
        "server error": (generator | {"BOT_LLM_BASE_URL": f"{echo}/500/v1"}, True),
        "chroma server down": ({"CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": str(closed)}, True),
        "key set, extractive": ({}, False),
    }
    try:
        with ThreadPoolExecutor(3) as pool:
            futures = {name: pool.submit(bot, "ask", question, "--store", store, env=SECRETS | env)
                       for name, (env, _) in runs.items()}
            results = {name: f.result() for name, f in futures.items()}
    finally:
        server.shutdown()
    for name, run in results.items():
        output = run.stdout + run.stderr
        for secret in SECRETS.values():
            assert secret not in output and secret[-9:] not in output, (name, output[-1500:])
        if runs[name][1]:
            one_error(run)
        else:
            assert run.returncode == 0 and "Freeland" in run.stdout
            assert "OPENAI_API_KEY is set but not used" in run.stderr


def test_ask_json_reports_a_model_server_that_is_down_on_stdout(seed_store):
    settings, _ = seed_store
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]  # nothing listens there once the socket is closed
    run = bot("ask", "Who is Canada's foreign minister?", "--json", "--store", str(settings.store),
              env={"BOT_ANSWERER": "openai-compatible", "BOT_LLM_MODEL": "m", "BOT_LLM_RETRIES": "0",
                   "BOT_LLM_CONNECT_TIMEOUT": "2", "BOT_LLM_BASE_URL": f"http://127.0.0.1:{closed}/v1"})
    error = one_error(run, f"127.0.0.1:{closed}")
    data = json.loads(run.stdout)  # a script reading stdout learns what failed
    assert data["refused"] is None and data["error"] == error.removeprefix("error: ")
