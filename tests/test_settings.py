"""Settings a user gets wrong: each is one `error:` line naming the variable, before anything is touched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import make_settings, seed_copy


@pytest.fixture
def cli(monkeypatch, tmp_path):
    """`bot ARGS` in this process, in a folder without .env and with no BOT_* from the shell:
    call(*args, env={...}) -> (exit code, stdout, stderr)."""
    from typer.testing import CliRunner

    from bot.cli import app
    from bot.config import get_settings

    for name in list(os.environ):
        if name.startswith(("BOT_", "OPENAI_", "CHROMA_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)

    def call(*args: str, env: dict[str, str] | None = None):
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()  # settings are read once per process; each call is a new "process"
        try:
            result = CliRunner().invoke(app, list(args))
        finally:
            for name in env or {}:
                monkeypatch.delenv(name)
            get_settings.cache_clear()
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        return result.exit_code, result.stdout, result.stderr

    return call


def one_error(code: int, err: str, *expected: str) -> str:
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 1 and len(errors) == 1, (code, err)
    for text in expected:
        assert text in errors[0], (text, errors[0])
    return errors[0]


@pytest.fixture
def small_store(tmp_path, embed_model):
    """(settings, article folder) of a store holding the two seed articles."""
    from bot.ingest import ingest
    from bot.store import open_store

    folder = seed_copy(tmp_path)
    settings = make_settings(tmp_path / "store")
    ingest(open_store(settings, embed_model, writable=True), [folder], embed_model)
    return settings, folder


def articles_in(settings, embed_model) -> int:
    from bot.store import open_store

    return open_store(settings, embed_model).article_count()


# --------------------------------------------------------------------------- 1: chunk size and overlap
def test_overlap_not_below_chunk_size_fails_before_the_rebuild_drops_the_index(cli, small_store, embed_model):
    settings, folder = small_store
    code, _, err = cli("ingest", str(folder), "--rebuild", "--store", str(settings.store),
                       env={"BOT_CHUNK_SIZE": "64", "BOT_CHUNK_OVERLAP": "100"})
    one_error(code, err, "invalid setting BOT_CHUNK_OVERLAP: must be smaller than BOT_CHUNK_SIZE, but 100 >= 64")
    assert articles_in(settings, embed_model) == 2


def test_a_rebuild_that_cannot_start_keeps_the_index(cli, small_store, embed_model, tmp_path):
    from bot.cli import run_ingest

    settings, folder = small_store
    # Settings changed in code are not validated: the splitter refuses the pair, before anything is dropped.
    bad = settings.model_copy(update={"chunk_size": 64, "chunk_overlap": 100})
    with pytest.raises(ValueError, match="chunk overlap"):
        run_ingest(bad, [folder], rebuild=True, quiet=True)
    assert articles_in(settings, embed_model) == 2

    empty = tmp_path / "empty-folder"  # e.g. a mistyped folder that exists but holds no article
    empty.mkdir()
    code, out, _ = cli("ingest", str(empty), "--rebuild", "--store", str(settings.store))
    assert code == 1 and "nothing rebuilt: no article could be read, so the index was left as it was" in out
    assert articles_in(settings, embed_model) == 2


# --------------------------------------------------------------------------- 2: collection names
@pytest.mark.parametrize("name", ["", "bad name!", "ab"], ids=["empty", "bad-name", "too-short"])
def test_a_bad_collection_name_is_named_as_such(cli, tmp_path, name):
    new = tmp_path / "new-store"
    code, _, err = cli("ingest", str(seed_copy(tmp_path)), "--store", str(new), env={"BOT_COLLECTION": name})
    line = one_error(code, err, "invalid setting BOT_COLLECTION")
    assert ("is empty" if not name else "is not a valid Chroma collection name: use 3-512 letters") in line
    assert not new.exists()
    code, _, err = cli("ask", "Who is Canada's foreign minister?", "--store", str(new), env={"BOT_COLLECTION": name})
    line = one_error(code, err, "invalid setting BOT_COLLECTION")
    assert "no index" not in line


# --------------------------------------------------------------------------- 3: numbers and URLs
GENERATOR = {"BOT_ANSWERER": "openai-compatible", "BOT_LLM_MODEL": "m", "BOT_LLM_BASE_URL": "http://127.0.0.1:9/v1"}


@pytest.mark.parametrize("name,value,message", [
    ("BOT_LLM_TIMEOUT", "-1", "Input should be greater than 0"),
    ("BOT_LLM_CONNECT_TIMEOUT", "0", "Input should be greater than 0"),
    ("BOT_LLM_MAX_TOKENS", "0", "Input should be greater than or equal to 1"),
    ("BOT_LLM_RETRIES", "-1", "Input should be greater than or equal to 0"),
    ("BOT_LLM_CONTEXT_WINDOW", "0", "Input should be greater than or equal to 64"),
    ("CHROMA_PORT", "70000", "Input should be less than or equal to 65535"),
    ("BOT_MIN_ANSWER_PROBABILITY", "nan", "Input should be a finite number"),
    ("BOT_RECENCY_DAYS", "inf", "Input should be a finite number"),
    ("BOT_LLM_BASE_URL", "not a url", "is not an http(s) URL: write it like http://127.0.0.1:11434/v1"),
    ("BOT_EMBED_BASE_URL", "127.0.0.1:11434/v1", "is not an http(s) URL"),
    ("OPENAI_BASE_URL", "ftp://example.org/v1", "is not an http(s) URL"),
])
def test_out_of_range_numbers_and_bad_urls_are_one_line(cli, tmp_path, name, value, message):
    code, _, err = cli("ask", "Who is Canada's foreign minister?", "--store", str(tmp_path),
                       env=GENERATOR | {name: value})
    line = one_error(code, err, f"invalid setting {name}: {message}", "(see .env.example)")
    assert "cannot reach" not in line and "less than or equal to 1" not in line


def test_an_empty_url_setting_means_unset(cli, small_store):
    from bot.config import Settings

    assert Settings(_env_file=None, llm_base_url="", embed_base_url="  ").llm_base_url is None
    settings, _ = small_store
    code, _, err = cli("ask", "Who is Canada's foreign minister?", "--store", str(settings.store),
                       env=GENERATOR | {"BOT_LLM_BASE_URL": ""})
    one_error(code, err, "BOT_ANSWERER=openai-compatible needs BOT_LLM_BASE_URL")


# --------------------------------------------------------------------------- 6: .env lines and unknown names
def bot_process(*args: str, cwd: Path, env: dict[str, str] | None = None):
    """`bot ARGS` as a user runs it: a new process in `cwd` (where its .env is), no BOT_* from the shell."""
    import subprocess
    import sys

    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "OPENAI_", "CHROMA_"))}
    run = subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=cwd, env=clean | (env or {}),
                         capture_output=True, text=True, timeout=300)
    assert "Traceback" not in run.stderr + run.stdout, run.stderr[-3000:]
    return run


QUESTION = "Who is Canada's foreign minister?"


def test_an_env_line_dotenv_cannot_parse_is_reported_once(small_store, tmp_path):
    settings, _ = small_store
    (tmp_path / ".env").write_text('BOT_TOP_K=5\nthis is not = a "setting\nBOT_MAX_ANSWER_SENTENCES=1\n', encoding="utf-8")
    run = bot_process("ask", QUESTION, "--store", str(settings.store), cwd=tmp_path)
    assert run.returncode == 0 and "Freeland" in run.stdout, run.stderr[-2000:]
    assert run.stderr.count("could not parse statement starting at line 2") == 1, run.stderr
    assert ("warning: python-dotenv could not parse statement starting at line 2 of .env; that line is ignored "
            "(write it as NAME=value)") in run.stderr.splitlines()


def test_unknown_bot_names_are_warned_about_with_the_closest_setting(small_store, tmp_path):
    settings, _ = small_store
    (tmp_path / ".env").write_text("BOT_TYPO_SETTING=1\nBOT_LLM_TIMOUT=5\nOTHER_TOOL_SETTING=1\n", encoding="utf-8")
    run = bot_process("ask", QUESTION, "--store", str(settings.store), cwd=tmp_path,
                      env={"BOT_TOPK": "5", "BOT_TOP_K": "3", "OPENAI_API_KEY": "", "BOT_TEST_KILL_AT": "never:1"})
    assert run.returncode == 0 and "Freeland" in run.stdout, run.stderr[-2000:]  # a warning, not a failure
    warnings = [line for line in run.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: unknown setting BOT_TOPK (did you mean BOT_TOP_K?)",
        "warning: unknown setting BOT_TYPO_SETTING in .env (no setting has that name; see .env.example)",
        "warning: unknown setting BOT_LLM_TIMOUT in .env (did you mean BOT_LLM_TIMEOUT?)",
    ], run.stderr
