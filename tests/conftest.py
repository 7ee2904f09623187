"""Shared fixtures: a real Chroma store of the seed corpus, built once per test session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.config import PROJECT_DIR, Settings

CORPUS = PROJECT_DIR / "corpus"
VOA = "voa-vancouver-talks-pressuring-north-korea.txt"
NZ = "tillerson-maximum-pressure-vancouver.txt"


def seed_copy(tmp: Path) -> Path:
    """A private copy of the seed articles (tests that edit or delete files use this)."""
    folder = tmp / "articles"
    folder.mkdir(parents=True, exist_ok=True)
    for name in (VOA, NZ):
        shutil.copy(CORPUS / name, folder / name)
    return folder


def make_settings(store: Path, **overrides) -> Settings:
    return Settings(_env_file=None, store=store, **overrides)


@pytest.fixture(scope="session")
def embed_model():
    from bot.models import make_embed_model

    return make_embed_model(make_settings(Path("/nonexistent")))


@pytest.fixture(scope="session")
def seed_store(tmp_path_factory, embed_model):
    """(settings, store) with the seed corpus ingested; read-only for tests."""
    from bot.ingest import ingest
    from bot.store import open_store

    settings = make_settings(tmp_path_factory.mktemp("seed-store"))
    store = open_store(settings, embed_model, writable=True)
    ingest(store, [seed_copy(tmp_path_factory.mktemp("seed-corpus"))], embed_model)
    return settings, store


@pytest.fixture(scope="session")
def qa(seed_store, embed_model):
    from bot.answer import QA

    settings, store = seed_store
    return QA(settings, store, embed_model)
