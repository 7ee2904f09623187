"""Thumbs up/down from the browser chat, appended as one JSON line per vote."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from bot.answer_types import Answer
from bot.config import Settings


def feedback_path(settings: Settings) -> Path:
    """BOT_FEEDBACK_LOG, or feedback.jsonl in the data folder that holds the store."""
    if settings.feedback_log:
        return Path(settings.feedback_log).expanduser()
    return Path(settings.store).expanduser().resolve().parent / "feedback.jsonl"


def feedback_record(rating: int | None, answer: Answer, used: dict) -> dict:
    return {
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "rating": {1: "up", 0: "down"}.get(rating),  # st.feedback("thumbs"): 1 up, 0 down
        "question": answer.question,
        "answer": answer.text,
        "refused": answer.refused,
        "citations": [c.public() for c in answer.citations],
        "closest": [c.public() for c in answer.closest],
        "settings": used,
    }


def append_feedback(path: Path, record: dict) -> None:
    """One line per record; a single O_APPEND write, so concurrent sessions never interleave lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
