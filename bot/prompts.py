"""Prompts are text files in `prompts/`, loaded by name so they can be edited without touching code."""

from __future__ import annotations

from functools import lru_cache

from bot.config import PROMPTS_DIR


@lru_cache(maxsize=None)
def load_prompt(name: str) -> str:
    path = PROMPTS_DIR / f"{name}.txt"
    if not path.is_file():
        raise FileNotFoundError(f"prompt '{name}' not found: expected {path}")
    return path.read_text(encoding="utf-8").strip()
