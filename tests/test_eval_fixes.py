"""Defects a user of `bot eval` found: what they now see (exit code, messages, files)."""

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
