"""`bot bench`: the speed benchmark on a small corpus, and the questions it cannot time."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from bot.cli import app
from conftest import seed_copy


def test_bench_names_the_questions_it_does_not_time_and_times_the_rest(tmp_path):
    corpus = seed_copy(tmp_path / "news")
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join([
        "{broken",
        json.dumps({"id": "long", "question": "Who " + "hosted it " * 400 + "?", "answerable": True}),
        json.dumps({"id": "ok", "question": "Who is Canada's foreign minister?", "answerable": True}),
        json.dumps({"id": "follow", "question": "What did she say?", "answerable": True,
                    "history": [["Who is Canada's foreign minister?", "Chrystia Freeland."]]}),
    ]) + "\n", encoding="utf-8")
    out = tmp_path / "bench.json"
    done = CliRunner().invoke(app, ["bench", "--corpus", str(corpus), "--questions", str(questions),
                                    "--embed-sample", "4", "--out", str(out)])
    assert done.exit_code == 0, done.output
    # The bad line and the question over the length limit are named; the first question that the
    # bot rejects no longer stops the run, and the follow-up is timed with its history.
    assert "q.jsonl:1" in done.output and "long: not timed" in done.output
    numbers = json.loads(out.read_text())
    assert numbers["articles"] == 2 and numbers["n_questions"] == 2
