"""`bot eval` runs as a user drives them: bad question files, --out, baselines, what the table counts."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app
from conftest import CORPUS, NZ, make_settings


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_answerable_strings_and_numbers_are_booleans_and_other_values_skip_the_line(tmp_path):
    from bot.evaluation import read_questions

    values = ["false", "TRUE", " False ", 0, 1, True, "maybe", None, 2, "no"]
    path = write_lines(tmp_path / "q.jsonl", [
        json.dumps({"id": f"q{i}", "question": "Who is Japan's foreign minister?", "answerable": v})
        for i, v in enumerate(values)
    ])
    questions, warnings = read_questions(path)
    assert {q.id: q.answerable for q in questions} == {
        "q0": False, "q1": True, "q2": False, "q3": False, "q4": True, "q5": True,
    }
    assert warnings == [
        "q.jsonl:7: skipped, 'answerable' should be true or false (or 1/0), not \"maybe\"",
        "q.jsonl:8: skipped, 'answerable' should be true or false (or 1/0), not null",
        "q.jsonl:9: skipped, 'answerable' should be true or false (or 1/0), not 2",
        "q.jsonl:10: skipped, 'answerable' should be true or false (or 1/0), not \"no\"",
    ]


def test_out_refuses_a_folder_holding_a_run_and_a_file(tmp_path):
    run_dir = tmp_path / "RUN"
    run_dir.mkdir()
    files = {"results.jsonl": '{"id": "old"}\n', "summary.json": '{"n_questions": 1}\n', "table.md": "old\n"}
    for name, text in files.items():
        (run_dir / name).write_text(text)
    questions = write_lines(tmp_path / "q.jsonl", [json.dumps({"id": "g1", "question": "Who is Japan's foreign minister?"})])
    runner = CliRunner()
    args = ["eval", str(questions), "--corpus", str(CORPUS), "--store", str(tmp_path / "store")]
    same = runner.invoke(app, args + ["--out", str(run_dir), "--baseline", str(run_dir)])
    assert same.exit_code == 1
    assert f"error: --out {run_dir} already holds a run (summary.json, results.jsonl): choose another folder or remove it" in same.output
    assert "Traceback" not in same.output
    assert {name: (run_dir / name).read_text() for name in files} == files  # nothing overwritten
    assert not (tmp_path / "store").exists()  # refused before any ingest

    a_file = tmp_path / "a-file"
    a_file.write_text("mine\n")
    for out in (a_file, a_file / "sub"):
        result = runner.invoke(app, args + ["--out", str(out)])
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert [line for line in result.output.splitlines() if line.startswith("error:")] == [
            f"error: --out {out} is a file, not a folder: choose a folder for the run's files" if out == a_file
            else f"error: --out {out} cannot be created: {a_file} is a file, not a folder"
        ]
    assert a_file.read_text() == "mine\n" and not (tmp_path / "store").exists()


def test_warnings_show_square_brackets_as_written(tmp_path):
    questions = write_lines(tmp_path / "q.jsonl", [
        json.dumps({"id": "g1", "question": "Who is Japan's foreign minister?", "must_contain": ["kono", "[/]("]}),
        json.dumps({"id": "g2", "question": "Who is Japan's foreign minister?", "history": "[user, assistant]"}),
        json.dumps({"id": "g3", "question": "Who is Japan's foreign minister?", "sources": ["[bold red]2744e23e67af"]}),
    ])
    out = tmp_path / "[red]out"
    result = CliRunner().invoke(app, ["eval", str(questions), "--corpus", str(CORPUS), "--store", str(tmp_path / "store"),
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "MarkupError" not in result.output
    assert "warning: q.jsonl:1: must_contain pattern '[/](' is not a valid regex" in result.output
    assert "warning: q.jsonl:2: 'history' should be a list of [user, assistant] pairs; asked without it" in result.output
    assert "warning: q.jsonl:3: unknown source '[bold red]2744e23e67af' (not in the corpus)" in result.output
    assert f"results: {out}/" in result.output
    assert (out / "table.md").exists()


def first_run(tmp_path: Path) -> tuple[list[str], Path]:
    questions = write_lines(tmp_path / "q.jsonl", [
        json.dumps({"id": "g1", "question": "Who is Japan's foreign minister?", "must_contain": ["kono"],
                    "sources": [NZ]}),
        json.dumps({"id": "g2", "question": "Who is the Prime Minister of Canada?", "answerable": False}),
    ])
    args = ["eval", str(questions), "--corpus", str(CORPUS), "--store", str(tmp_path / "store")]
    first = CliRunner().invoke(app, args + ["--out", str(tmp_path / "a")])
    assert first.exit_code == 0, first.output
    return args, tmp_path / "a"


def test_a_non_numeric_baseline_metric_is_skipped_with_a_warning(tmp_path):
    args, a = first_run(tmp_path)
    prev = dict(json.loads((a / "summary.json").read_text()), accuracy="high")
    (tmp_path / "prev.json").write_text(json.dumps(prev))
    result = CliRunner().invoke(app, args + ["--out", str(tmp_path / "b"), "--baseline", str(tmp_path / "prev.json")])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert f'warning: the baseline {tmp_path / "prev.json"}: accuracy is "high", not a number; not compared' in result.output
    table = (tmp_path / "b" / "table.md").read_text()
    assert "| accuracy | 1.000" in table and "| n/a | n/a |" in table
    assert "| hits_at_1" not in table and "| Hits@1 |" in table


def test_a_baseline_of_other_questions_or_articles_is_named_and_recorded(tmp_path):
    args, a = first_run(tmp_path)
    prev = json.loads((a / "summary.json").read_text())
    prev["n_questions"] = 55
    prev["run"] = dict(prev["run"], questions_file="/elsewhere/questions.jsonl", articles=40)
    (tmp_path / "prev").mkdir()
    (tmp_path / "prev" / "summary.json").write_text(json.dumps(prev))
    result = CliRunner().invoke(app, args + ["--out", str(tmp_path / "b"), "--baseline", str(tmp_path / "prev"),
                                             "--tolerance", "0.05"])
    assert result.exit_code == 0, result.output
    warning = [line for line in result.output.splitlines() if "is not a run of the same questions" in line]
    assert warning == [
        f"warning: the baseline {tmp_path / 'prev' / 'summary.json'} is not a run of the same questions on the same "
        f"articles: it has questions file /elsewhere/questions.jsonl (this run: {(tmp_path / 'q.jsonl').resolve()}); "
        "55 questions (this run: 2); 40 articles (this run: 2). The comparison below compares different things"
    ]
    assert "| metric | value | baseline | diff |" in result.output  # the comparison is kept
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summary["baseline"] == {"summary": str((tmp_path / "prev" / "summary.json").resolve()), "tolerance": 0.05}
    assert warning[0].removeprefix("warning: ") in summary["run"]["warnings"]

    same = CliRunner().invoke(app, args + ["--out", str(tmp_path / "c"), "--baseline", str(a)])
    assert same.exit_code == 0 and "not a run of the same" not in same.output


def test_a_store_evaluated_as_it_is_records_no_corpus(tmp_path):
    args, a = first_run(tmp_path)
    assert json.loads((a / "summary.json").read_text())["run"]["corpus"] == [str(CORPUS.resolve())]
    store = tmp_path / "store"
    result = CliRunner().invoke(app, ["eval", str(tmp_path / "q.jsonl"), "--store", str(store), "--no-ingest",
                                      "--out", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    run = json.loads((tmp_path / "b" / "summary.json").read_text())["run"]
    assert run["corpus"] is None and run["store"] == str(store) and run["articles"] == 2


def test_rates_show_what_they_are_over_and_rejected_questions_are_counted(tmp_path):
    questions = write_lines(tmp_path / "q.jsonl", [
        json.dumps({"id": "g1", "question": "Who is Japan's foreign minister?", "must_contain": ["kono"], "sources": [NZ]}),
        json.dumps({"id": "nopattern", "question": "Who is Canada's foreign minister?", "sources": [NZ]}),
        json.dumps({"id": "g2", "question": "Who is the Prime Minister of Canada?", "answerable": False}),
        json.dumps({"id": "nowords", "question": "?! ... !?"}),
        json.dumps({"id": "toolong", "question": "Who said it? " + "word " * 5000}),
    ])
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["eval", str(questions), "--corpus", str(CORPUS), "--store", str(tmp_path / "store"),
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "warning: q.jsonl:4: question 'nowords' skipped, the bot rejects it: the question has no words" in result.output
    assert "warning: q.jsonl:5: question 'toolong' skipped, the bot rejects it: the question is" in result.output
    rows = {r["id"]: r for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())}
    assert set(rows) == {"g1", "nopattern", "g2"}
    assert rows["g1"]["correct"] is True and rows["nopattern"]["correct"] is None
    assert isinstance(rows["g2"]["correct"], bool)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_skipped"] == 2 and summary["n_questions"] == 3 and summary["n_accuracy"] == 1
    assert summary["accuracy"] == 1.0 and summary["n_answerable"] == 2
    table = (out / "table.md").read_text()
    assert "| skipped (rejected by the bot) | 2 |" in table
    assert "| accuracy | 1.000 (1/1) |" in table
    assert "| Hits@10 | 1.000 (2/2) |" in table and "| MRR@10 | " in table and " (n=2) |" in table
    assert "| false refusal rate (answerable) | 0.000 (0/2) |" in table
    assert table in result.stdout


def test_bot_store_in_the_environment_is_not_where_an_eval_ingests(tmp_path):
    # The store a user chats with (BOT_STORE) got the eval corpus's articles added to it.
    from conftest import seed_copy

    mine = tmp_path / "mine"
    questions = write_lines(tmp_path / "q.jsonl", [json.dumps({"question": "Who is Japan's foreign minister?"})])
    done = CliRunner().invoke(app, ["eval", str(questions), "--corpus", str(seed_copy(tmp_path / "news")),
                                    "--out", str(tmp_path / "run")], env={"BOT_STORE": str(mine)})
    assert done.exit_code == 0, done.output
    assert not mine.exists()
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["run"]["store"] != str(mine)


def test_ctrl_c_during_an_eval_says_what_the_run_left(tmp_path, monkeypatch):
    import bot.evaluation

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(bot.evaluation, "run_eval", interrupted)  # Ctrl-C at some point of the run
    questions = write_lines(tmp_path / "q.jsonl", [json.dumps({"question": "Who is Japan's foreign minister?"})])
    done = CliRunner().invoke(app, ["eval", str(questions), "--out", str(tmp_path / "run")])
    assert done.exit_code == 130
    assert "results.jsonl holds only the questions answered so far" in done.output
    assert "nothing half-written was kept" not in done.output  # the ingest's message was wrong here


def test_a_comparison_names_the_questions_whose_outcome_changed(tmp_path):
    from bot.config import get_settings

    args, first = first_run(tmp_path)
    get_settings.cache_clear()  # settings are read once per process; this run has a stricter gate
    try:
        done = CliRunner().invoke(app, args + ["--out", str(tmp_path / "b"), "--baseline", str(first)],
                                  env={"BOT_MIN_ANSWER_PROBABILITY": "0.99"})
    finally:
        get_settings.cache_clear()
    assert done.exit_code == 1  # worse than the baseline
    assert "questions whose outcome changed against the baseline: 1" in done.output
    assert "g1: right -> refused" in done.output
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summary["baseline"]["changed"] == ["g1: right -> refused"]
