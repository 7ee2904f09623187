"""What pydantic-settings passes over in silence: `.env` lines python-dotenv cannot parse, and BOT_* names
that are no setting (a mistyped setting would otherwise never take effect, and nobody would know)."""

from __future__ import annotations

import difflib
import io
import os
from pathlib import Path

from bot.config import Settings

PREFIX = Settings.model_config["env_prefix"]
NOT_SETTINGS = {"BOT_TEST_KILL_AT"}  # the test hook of bot/store.py, read from the environment on purpose


def known_names() -> set[str]:
    """Every variable name a setting is read from, upper case (pydantic-settings ignores case)."""
    names = set(NOT_SETTINGS)
    for field, info in Settings.model_fields.items():
        names.add(f"{PREFIX}{field}".upper())
        alias = info.validation_alias
        names.update(str(choice).upper() for choice in getattr(alias, "choices", []))
    return names


def _env_file() -> tuple[Path, list[str], list[str]]:
    """(path, names set in it, problems): the .env file pydantic-settings reads, parsed once."""
    from dotenv.parser import parse_stream

    path = Path(Settings.model_config["env_file"])
    try:
        text = path.read_text(encoding=Settings.model_config["env_file_encoding"])
    except (OSError, UnicodeDecodeError):  # no .env (the usual case), or one pydantic-settings reports itself
        return path, [], []
    names, problems = [], []
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            problems.append(f"python-dotenv could not parse statement starting at line {binding.original.line} "
                            f"of {path}; that line is ignored (write it as NAME=value)")
        elif binding.key:
            names.append(binding.key)
    return path, names, problems


def settings_warnings(environ: dict[str, str] | None = None) -> list[str]:
    """One line per unparsable .env line and per unknown BOT_* name (environment, then .env)."""
    environ = os.environ if environ is None else environ
    known = known_names()
    suffixes = {name[len(PREFIX):]: name for name in known if name.startswith(PREFIX)}
    path, file_names, warnings = _env_file()
    seen = set()
    for name, where in [(n, "") for n in environ] + [(n, f" in {path}") for n in file_names]:
        upper = name.upper()
        if not upper.startswith(PREFIX) or upper in known or upper in seen:
            continue
        seen.add(upper)
        # Compared without the shared prefix, which would make every name look alike.
        close = difflib.get_close_matches(upper[len(PREFIX):], list(suffixes), n=1, cutoff=0.6)
        hint = f" (did you mean {suffixes[close[0]]}?)" if close else " (no setting has that name; see .env.example)"
        warnings.append(f"unknown setting {name}{where}{hint}")
    return warnings
