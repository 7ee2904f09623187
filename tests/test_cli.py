"""The `bot` command as a user runs it: real processes, a store in a temporary folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import NZ, VOA, make_settings, seed_copy

BOT = [str(Path(sys.executable).with_name("bot"))]
PYTHON_M_BOT = [sys.executable, "-m", "bot"]
TILLERSON = "What did Tillerson urge China and Russia to do?"


def run(args: list[str], cwd: Path, stdin: str | None = None, how: list[str] = BOT) -> subprocess.CompletedProcess:
    # A clean environment: no BOT_* settings or keys from the developer's shell, and cwd without a .env.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "OPENAI_", "CHROMA_"))}
    env["TOKENIZERS_PARALLELISM"] = "false"
    return subprocess.run(how + args, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=300)


def assert_clean_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    assert any(line.startswith("error: ") for line in result.stderr.splitlines()), result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


@pytest.fixture(scope="module")
def cli_store(tmp_path_factory):
    """A store filled by `bot ingest` (default folder: the bundled corpus/)."""
    work = tmp_path_factory.mktemp("cli")
    store = work / "store"
    first = run(["ingest", "--store", str(store)], cwd=work)
    return work, store, first


def test_ingest_reports_counts_and_second_run_changes_nothing(cli_store):
    work, store, first = cli_store
    assert first.returncode == 0, first.stderr
    assert "added 2, updated 0, deleted 0, unchanged 0" in first.stdout
    assert "Traceback" not in first.stderr
    # The team's question files in corpus/ are one line, not one warning-like line each.
    output = first.stdout + first.stderr
    assert "question file(s), for bot eval: " in output and "questions.jsonl" in output, output
    assert "skipped: " not in output, output
    second = run(["ingest", "--store", str(store)], cwd=work)
    assert second.returncode == 0, second.stderr
    assert "added 0, updated 0, deleted 0, unchanged 2" in second.stdout


def test_ask_json_contract(cli_store):
    work, store, _ = cli_store
    result = run(["ask", TILLERSON, "--json", "--store", str(store)], cwd=work, how=PYTHON_M_BOT)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["refused"] is False
    assert "implement United Nations sanctions" in data["answer"]
    assert data["citations"]
    for c in data["citations"]:
        assert {"n", "source", "title", "date", "quote", "start", "end", "score"} <= set(c)
        assert c["quote"] in data["answer"]
    assert VOA in [c["source"] for c in data["citations"]]
    assert set(data["timings"]) >= {"retrieve_ms", "total_ms"}


def test_ask_off_corpus_is_refused(cli_store):
    work, store, _ = cli_store
    result = run(["ask", "Who won the 2018 World Cup?", "--json", "--store", str(store)], cwd=work)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["refused"] is True and data["citations"] == []
    assert data["answer"].startswith("The articles don't say")
    assert {c["source"] for c in data["closest"]} <= {VOA, NZ} and data["closest"]


def test_ask_plain_text_and_chat(cli_store):
    work, store, _ = cli_store
    result = run(["ask", TILLERSON, "--store", str(store)], cwd=work)
    assert result.returncode == 0, result.stderr
    assert "implement United Nations sanctions" in result.stdout
    assert f"— {VOA} (chars" in result.stdout

    chat = run(
        ["chat", "--store", str(store)], cwd=work,
        stdin="Who is Canada's foreign minister?\nWhat did she say nations must improve?\n",
    )
    assert chat.returncode == 0, chat.stderr
    assert "Chrystia Freeland" in chat.stdout
    assert "improve the effectiveness of existing sanctions" in chat.stdout
    # Piped, each turn starts with its question, so a log reads as a conversation.
    assert chat.stdout.index("you> Who is Canada's foreign minister?") < chat.stdout.index("Chrystia Freeland")
    assert "you> What did she say nations must improve?" in chat.stdout


def test_empty_question_exits_1_without_a_traceback(tmp_path):
    # No store is needed to be told the question is wrong.
    result = run(["ask", "", "--store", str(tmp_path / "none")], cwd=tmp_path)
    assert_clean_error(result, "the question is empty")


@pytest.mark.parametrize(
    "args,needle",
    [(["ask", "   \t "], "the question is empty"),
     (["ask", ("Why did Tillerson go to Vancouver? " * 600)[:20_000]], "the limit is 2,000"),
     (["ask", "?!"], "no words to search for"),
     (["ingest", "nowhere"], "no such file or folder")],
    ids=["whitespace", "20000-chars", "no-words", "missing-folder"],
)
def test_bad_input_in_process(tmp_path, monkeypatch, args, needle):
    """The same command code run in this process (faster than a new process per case)."""
    from typer.testing import CliRunner

    from bot.cli import app

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, args + ["--store", str(tmp_path / "store")])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert needle in result.stderr and "Traceback" not in result.output


def test_embedding_mismatch_and_rebuild(tmp_path, embed_model):
    from bot.ingest import ingest
    from bot.store import open_store

    other = embed_model.model_copy(update={"model_name": "some-other-embedding-model"})
    settings = make_settings(tmp_path / "store")
    ingest(open_store(settings, other, writable=True), [seed_copy(tmp_path)], other)

    assert_clean_error(run(["ingest", "--store", str(settings.store)], cwd=tmp_path),
                       "some-other-embedding-model", "bot ingest --rebuild")

    rebuilt = run(["ingest", "--rebuild", "--store", str(settings.store)], cwd=tmp_path)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "added 2, updated 0" in rebuilt.stdout
    assert open_store(settings, embed_model).article_count() == 2


def test_a_refusal_in_text_mode_prints_its_notes(capsys):
    # README: dropped sentences are listed as notes, `bot ask` prints them; under a refusal too.
    from bot.answer_types import Answer
    from bot.cli import print_answer

    dropped = 'dropped (not supported by the passages): "Freeland was born on the Moon."'
    print_answer(Answer(question="Where was Freeland born?", text="The articles don't say.", refused=True,
                        notes=[dropped]))
    assert f"note: {dropped}" in capsys.readouterr().out


def invoke(args: list[str], cwd: Path, monkeypatch):
    """The `bot` command in this process: (exit code, stdout, stderr)."""
    from typer.testing import CliRunner

    from bot.cli import app

    monkeypatch.chdir(cwd)
    result = CliRunner().invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_ingest_of_a_missing_path_creates_no_store(tmp_path, monkeypatch):
    store = tmp_path / "x"
    code, _, err = invoke(["ingest", str(tmp_path / "nowhere"), "--store", str(store)], tmp_path, monkeypatch)
    assert code == 1 and "no such file or folder" in err
    assert not store.exists()


def test_ask_on_a_missing_or_empty_store_says_how_to_fill_it(tmp_path, monkeypatch, embed_model):
    from bot.store import open_store

    missing = tmp_path / "none"
    code, out, err = invoke(["ask", "Who hosted?", "--store", str(missing)], tmp_path, monkeypatch)
    assert code == 1 and f"--store {missing}" in err and "run `bot ingest` first" in err

    empty = tmp_path / "empty"
    open_store(make_settings(empty), embed_model, writable=True)  # a store folder with no articles
    code, out, err = invoke(["ask", "Who hosted?", "--store", str(empty)], tmp_path, monkeypatch)
    assert code == 1 and "The articles don't say" not in out
    assert f"the index at {empty} is empty" in err and f"--store {empty}" in err


def test_ask_json_errors_are_one_json_object_on_stdout(tmp_path, monkeypatch):
    for question, store, expected in [("", tmp_path, "the question is empty"),
                                      ("Who hosted?", tmp_path / "none", "no index at")]:
        code, out, err = invoke(["ask", question, "--json", "--store", str(store)], tmp_path, monkeypatch)
        assert code == 1 and expected in err
        data = json.loads(out)
        assert expected in data["error"] and data["refused"] is None


def test_ingest_off_a_terminal_prints_progress_lines(cli_store):
    # CI logs and pipes get no progress bar; they get a line as batches are stored.
    _, _, first = cli_store
    assert "embedded 2/2 articles" in first.stderr, first.stderr


def test_chat_says_a_missing_key_before_the_first_question(cli_store, tmp_path):
    # It started, waited for a question, and only then said the key was missing (with no input: exit 0).
    _, store, _ = cli_store
    (tmp_path / ".env").write_text("BOT_ANSWERER=openai\n")
    assert_clean_error(run(["chat", "--store", str(store)], cwd=tmp_path, stdin=""), "OPENAI_API_KEY")


def test_chat_ignores_blank_lines_and_ends_at_exit_or_end_of_input(cli_store):
    work, store, _ = cli_store
    chat = run(["chat", "--store", str(store)], cwd=work,
               stdin="\nWho is Canada's foreign minister?\n   \t\n\nWhat did she say nations must improve?\n"
                     "exit\nWho is Japan's foreign minister?\n")
    assert chat.returncode == 0 and "Traceback" not in chat.stderr, chat.stderr
    assert "Chrystia Freeland" in chat.stdout  # the first question came after a blank line
    assert "improve the effectiveness of existing sanctions" in chat.stdout  # the conversation survived blank lines
    assert "you> Who is Japan's" not in chat.stdout  # `exit` ended it
    assert chat.stdout.count("you> ") == 2

    quit_ = run(["chat", "--store", str(store)], cwd=work, stdin="QUIT\nWho is Canada's foreign minister?\n")
    assert quit_.returncode == 0 and "you> " not in quit_.stdout


def test_chat_help_says_how_it_ends(tmp_path, monkeypatch):
    code, out, _ = invoke(["chat", "--help"], tmp_path, monkeypatch)
    assert code == 0
    text = " ".join(out.split())
    assert "A blank line is ignored; `exit`, `quit`, Ctrl-D or Ctrl-C ends." in text
