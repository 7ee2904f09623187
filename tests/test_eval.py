"""`bot eval` end to end on the seed corpus (real store, real model), and bad question files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from conftest import CORPUS, NZ, VOA, make_settings, seed_copy

QUESTIONS = CORPUS / "questions.jsonl"
CONTRACT_ROW = {"id", "answer", "refused", "citations", "retrieved", "latency_ms"}
CONTRACT_SUMMARY = {
    "n_questions", "n_answerable", "hits_at_1", "hits_at_5", "hits_at_10", "mrr_at_10", "accuracy",
    "citation_precision", "citation_recall", "refusal_rate", "false_refusal_rate", "latency_p50_ms",
    "latency_p95_ms", "settings",
}
# Regression floors, about one question below what was measured on 2026-12-02 (extractive answerer,
# defaults): accuracy 0.907 (39/43), refusal rate 1.000 (12/12), false refusals 0.093 (4/43), Hits@1
# 0.791, MRR@10 0.895, citation precision 0.962, citation recall 1.000. Every unanswerable one refused
# is the target: no question below it. On 2026-12-07 Hits@1 0.767 (33/43): a follow-up read with the
# name its "she" stands for ranks the other of the two articles first (DECISIONS.md section 16).
FLOORS = {"accuracy": 0.88, "refusal_rate": 1.0, "hits_at_1": 0.76, "mrr_at_10": 0.87,
          "citation_precision": 0.93, "citation_recall": 0.97}
CEILINGS = {"false_refusal_rate": 0.12}
# corpus/short-questions.jsonl (a few words each, as typed in a chat), measured the same day:
# accuracy 0.938 (15/16), refusal rate 1.000 (6/6), false refusals 0.062 (1/16).
SHORT_FLOORS = {"accuracy": 0.87, "refusal_rate": 1.0}
# corpus/source-questions.jsonl (questions that point at the reports: "According to the VOA report...",
# "Which report says...?"), measured on 2026-12-07: accuracy 0.864 (19/22), refusal 1.000 (8/8) since
# lives "put in danger" stopped answering the Korean War's toll (DECISIONS.md section 18).
SOURCE_FLOORS = {"accuracy": 0.81, "refusal_rate": 1.0}


@pytest.fixture(scope="module")
def eval_store(tmp_path_factory):
    return tmp_path_factory.mktemp("eval-store")


@pytest.fixture(scope="module")
def seed_run(eval_store, tmp_path_factory):
    from bot.evaluation import run_eval

    warnings: list[str] = []
    run = run_eval(
        QUESTIONS, corpus=[CORPUS], out=tmp_path_factory.mktemp("eval-out"), settings=make_settings(eval_store),
        store=eval_store, baselines=True, baseline_stores=tmp_path_factory.mktemp("baseline-stores"),
        quiet=True, warn=warnings.append,
    )
    return run, warnings


def test_seed_questions_meet_floors(seed_run):
    run, warnings = seed_run
    s = run.summary
    assert warnings == []  # the shipped question file is clean and every source is in corpus/
    assert CONTRACT_SUMMARY <= set(s)
    assert s["n_questions"] == sum(1 for line in QUESTIONS.read_text().splitlines() if line.strip())
    for metric, floor in FLOORS.items():
        assert s[metric] >= floor, f"{metric} {s[metric]:.3f} fell below its floor {floor}"
    for metric, ceiling in CEILINGS.items():
        assert s[metric] <= ceiling, f"{metric} {s[metric]:.3f} rose above {ceiling}"
    assert s["settings"]["answerer"] == "extractive" and s["settings"]["chunk_size"] == 512
    assert s["settings"]["spelling"] is True
    # Baselines in the same run, as extra rows of the retrieval table.
    assert set(s["baselines"]) == {"bm25", "llamaindex_default"}
    assert all(b["hits_at_10"] == 1.0 for b in s["baselines"].values())  # two articles: both retrieved
    assert "| BM25 alone" in run.table and "| LlamaIndex default dense" in run.table
    assert "| accuracy |" in run.table


def test_short_questions_meet_floors(eval_store, seed_run, tmp_path_factory):
    from bot.evaluation import run_eval

    run = run_eval(CORPUS / "short-questions.jsonl", corpus=[CORPUS], out=tmp_path_factory.mktemp("short-out"),
                   settings=make_settings(eval_store), store=eval_store, quiet=True, warn=lambda _: None)
    for metric, floor in SHORT_FLOORS.items():
        assert run.summary[metric] >= floor, f"{metric} {run.summary[metric]:.3f} fell below its floor {floor}"


def test_questions_that_point_at_the_reports_meet_floors(eval_store, seed_run, tmp_path_factory):
    from bot.evaluation import run_eval

    run = run_eval(CORPUS / "source-questions.jsonl", corpus=[CORPUS], out=tmp_path_factory.mktemp("source-out"),
                   settings=make_settings(eval_store), store=eval_store, quiet=True, warn=lambda _: None)
    for metric, floor in SOURCE_FLOORS.items():
        assert run.summary[metric] >= floor, f"{metric} {run.summary[metric]:.3f} fell below its floor {floor}"


def test_results_rows_follow_the_contract(seed_run):
    run, _ = seed_run
    rows = [json.loads(line) for line in (run.out_dir / "results.jsonl").read_text().splitlines()]
    assert len(rows) == run.summary["n_questions"]
    assert all(CONTRACT_ROW <= set(r) for r in rows)
    assert json.loads((run.out_dir / "summary.json").read_text())["accuracy"] == run.summary["accuracy"]
    by_id = {r["id"]: r for r in rows}
    freeland = by_id["seed-04"]  # "Who is Canada's foreign minister?"
    assert not freeland["refused"] and "freeland" in freeland["answer"].lower()
    assert any(c["source"] == VOA and "Freeland" in c["quote"] for c in freeland["citations"])
    assert set(freeland["retrieved"]) == {VOA, NZ}
    assert by_id["seed-54"]["answerable"] is False  # "Who is the Prime Minister of Canada?"


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = json.dumps({"id": "g1", "question": "Who is Japan's foreign minister?", "must_contain": ["kono"],
                   "sources": [NZ.removesuffix(".txt")], "answerable": True})
GOOD2 = json.dumps({"id": "g2", "question": "Who is the Prime Minister of Canada?", "answerable": False})


def test_bad_lines_are_named_and_the_rest_evaluated(eval_store, tmp_path):
    from bot.evaluation import run_eval

    questions = write_lines(tmp_path / "q.jsonl", [
        GOOD,
        '{"id": "broken", "question": "Who',  # line 2: malformed JSON
        json.dumps({"id": "noq", "answer": "x"}),  # line 3: no question
        json.dumps({"id": "ghost", "question": "Who is Canada's foreign minister?", "sources": ["no-such-article.txt"]}),
        GOOD2,
    ])
    warnings: list[str] = []
    run = run_eval(questions, corpus=[CORPUS], out=tmp_path / "out", settings=make_settings(eval_store),
                   store=eval_store, quiet=True, warn=warnings.append)
    text = "\n".join(warnings)
    assert "q.jsonl:2: skipped, not valid JSON" in text
    assert "q.jsonl:3: skipped, the field 'question' is missing" in text
    assert "q.jsonl:4: unknown source 'no-such-article.txt'" in text
    rows = [json.loads(line) for line in (run.out_dir / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["g1", "ghost", "g2"]
    assert rows[0]["correct"] and "kono" in rows[0]["answer"].lower()  # source given without extension
    assert run.summary["n_questions"] == 3 and run.summary["hits_at_10"] == 1.0


def test_files_the_ingest_skipped_are_recorded_with_the_run(tmp_path):
    from bot.evaluation import run_eval

    articles = seed_copy(tmp_path)
    (articles / "empty.txt").write_text("")
    questions = write_lines(tmp_path / "q.jsonl", [GOOD])
    store = tmp_path / "store"
    run = run_eval(questions, corpus=[articles], out=tmp_path / "out", settings=make_settings(store),
                   store=store, quiet=True, warn=lambda _: None)
    recorded = json.loads((run.out_dir / "summary.json").read_text())["run"]["warnings"]
    assert any("empty.txt" in w and "empty" in w for w in recorded), recorded


def test_a_baseline_read_from_other_articles_than_the_store_is_flagged(seed_run, eval_store, tmp_path):
    # `--store S --no-ingest --baselines` without `--corpus`: the LlamaIndex baseline reads another folder.
    from bot.evaluation import run_eval

    other = tmp_path / "other"
    other.mkdir()
    (other / "harbour.txt").write_text("Harbour Opens\n\nThe new harbour opened on Monday, the mayor said.\n")
    questions = write_lines(tmp_path / "q.jsonl", [GOOD])
    run = run_eval(questions, corpus=[other], out=tmp_path / "out", settings=make_settings(eval_store),
                   store=eval_store, ingest=False, baselines=True, baseline_stores=tmp_path / "baselines",
                   quiet=True, warn=lambda _: None)
    recorded = " ".join(run.summary["run"]["warnings"])
    assert "reads" in recorded and "(1 article) but the store holds 2" in recorded and "--corpus" in recorded


def test_cli_eval_fails_on_a_worse_baseline_and_bad_input(eval_store, tmp_path):
    questions = write_lines(tmp_path / "q.jsonl", [GOOD, GOOD2])
    runner = CliRunner()
    args = ["eval", str(questions), "--corpus", str(CORPUS), "--store", str(eval_store)]
    first = runner.invoke(app, args + ["--out", str(tmp_path / "a")])
    assert first.exit_code == 0, first.output
    assert "| accuracy |" in first.stdout
    now = json.loads((tmp_path / "a" / "summary.json").read_text())
    # A baseline that was better on two metrics (lower false refusals, higher MRR) by 0.5.
    better = dict(now, false_refusal_rate=now["false_refusal_rate"] - 0.5, mrr_at_10=now["mrr_at_10"] + 0.5)
    (tmp_path / "prev.json").write_text(json.dumps(better))
    worse = runner.invoke(app, args + ["--out", str(tmp_path / "b"), "--baseline", str(tmp_path / "prev.json")])
    assert worse.exit_code == 1, worse.output
    assert "| metric | value | baseline | diff |" in worse.stdout and "+0.500 worse" in worse.stdout
    assert "-0.500 worse" in worse.stdout
    verdict = " ".join(worse.output.split("worse than the baseline")[-1].split())
    assert verdict == "by more than 0.01: mrr_at_10, false_refusal_rate"

    same = runner.invoke(app, args + ["--out", str(tmp_path / "c"), "--baseline", str(tmp_path / "a")])
    assert same.exit_code == 0, same.output  # compared with itself: nothing got worse

    missing = runner.invoke(app, ["eval", str(tmp_path / "nope.jsonl"), "--store", str(eval_store)])
    assert missing.exit_code == 1 and "no question file" in missing.output and "Traceback" not in missing.output
    judge = runner.invoke(app, args + ["--judge", "--out", str(tmp_path / "d")])
    assert judge.exit_code == 1 and "--judge needs a generator" in judge.output
