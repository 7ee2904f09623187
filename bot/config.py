"""All configuration in one place: environment variables and `.env`, documented in `.env.example`."""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator, AliasChoices, Field, HttpUrl, SecretStr, TypeAdapter, ValidationError, ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROMPTS_DIR = PROJECT_DIR / "prompts"

# python-dotenv warns about a bad .env line every time the file is read, and pydantic-settings and
# chromadb's own settings read it many times a run: bot/config_check.py reports such a line once instead.
logging.getLogger("dotenv.main").setLevel(logging.ERROR)

# Chroma's rule for collection names (chromadb 1.x checks it only when the collection is created).
_COLLECTION_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]")
_IPV4 = re.compile(r"\d{1,3}(\.\d{1,3}){3}")
_HTTP_URL = TypeAdapter(HttpUrl)


def _base_url(value: str | None) -> str | None:
    """An http(s) base URL, kept as typed; empty means unset. The value is never echoed (it may hold a key)."""
    if value is None or not value.strip():
        return None
    try:
        _HTTP_URL.validate_python(value.strip())
    except ValidationError:
        raise PydanticCustomError(
            "http_url", "is not an http(s) URL: write it like http://127.0.0.1:11434/v1"
        ) from None
    return value.strip()


BaseUrl = Annotated[str | None, AfterValidator(_base_url)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore",
        allow_inf_nan=False,  # "nan" passes every ge/le check, so it is refused as a number
    )

    # --- where things live
    store: Path = Field(PROJECT_DIR / "data" / "store", description="Chroma store + docstore folder")
    corpus: Path = Field(PROJECT_DIR / "corpus", description="default folder `bot ingest` reads")
    collection: str = "news"

    # --- chunking
    chunk_size: int = Field(512, ge=64, le=8192, description="tokens per chunk")
    chunk_overlap: int = Field(64, ge=0, le=1024, description="must be smaller than chunk_size")

    # --- retrieval and the evidence gate
    top_k: int = Field(8, ge=1, le=100, description="chunks handed to the answerer")
    retriever: Literal["hybrid", "dense", "bm25"] = "hybrid"
    fusion_dense_weight: float = Field(0.5, ge=0.0, le=1.0, description="dense share of the fused score (BM25 gets the rest)")
    retrieval_depth: int = Field(60, ge=10, le=500, description="chunks each retriever returns before fusion")
    recency_weight: float = Field(0.5, ge=0.0, le=5.0, description="article-score bonus for articles published near the question's date")
    recency_days: float = Field(30.0, gt=0, description="days over which that bonus decays (e-folding)")
    # The gate refuses unless some retrieved sentence is this likely to hold the answer (bot/answer_model.py;
    # the trade-off curve behind the default is in DECISIONS.md).
    min_answer_probability: float = Field(0.20, ge=0.0, le=1.0, description="evidence gate threshold")
    max_answer_sentences: int = Field(2, ge=1, le=8)
    spelling: bool = Field(True, description="correct question words the articles never use to a close word they do use")
    answer_model: Path | None = Field(None, description="weights written by `bot calibrate` (default: built in)")

    # --- answerer
    answerer: Literal["extractive", "openai", "openai-compatible", "gguf"] = "extractive"
    llm_model: str = Field("gpt-4o-mini", description="model name for openai / openai-compatible")
    llm_base_url: BaseUrl = Field(None, description="base URL of an OpenAI-compatible server")
    llm_api_key: SecretStr | None = None
    llm_context_window: int = Field(4096, ge=64, le=10_000_000)
    llm_max_tokens: int = Field(256, ge=1, le=1_000_000)
    llm_timeout: float = Field(60.0, gt=0, description="seconds per request")
    llm_connect_timeout: float = Field(5.0, gt=0)
    llm_retries: int = Field(2, ge=0, le=10)
    gguf_path: Path | None = None
    llm_threads: int | None = Field(None, ge=1, le=256, description="CPU threads for a gguf model (unset: llama.cpp's choice)")
    openai_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("OPENAI_API_KEY", "BOT_OPENAI_API_KEY")
    )
    openai_base_url: BaseUrl = Field(
        None, validation_alias=AliasChoices("OPENAI_BASE_URL", "BOT_OPENAI_BASE_URL")
    )

    # --- embeddings
    embed: Literal["minilm", "openai", "openai-compatible"] = "minilm"
    embed_model: str = Field("text-embedding-3-small", description="for openai / openai-compatible")
    embed_base_url: BaseUrl = None
    embed_batch_size: int = Field(32, ge=1, le=2048)
    embed_threads: int = Field(2, ge=1, le=64)

    # --- vector store as a server (empty host: embedded store in `store`)
    chroma_host: str | None = Field(None, validation_alias=AliasChoices("CHROMA_HOST", "BOT_CHROMA_HOST"))
    chroma_port: int = Field(8000, ge=1, le=65535, validation_alias=AliasChoices("CHROMA_PORT", "BOT_CHROMA_PORT"))
    chroma_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("CHROMA_TOKEN", "BOT_CHROMA_TOKEN")
    )

    # --- limits
    max_question_chars: int = Field(2000, ge=10, le=1_000_000)
    max_file_mb: float = Field(20.0, gt=0, description="larger files are skipped with a message")

    # --- browser chat (bot ui)
    max_upload_mb: int = Field(10, ge=1, le=200, description="largest file the app's uploader accepts")
    feedback_log: Path | None = Field(None, description="thumbs log (JSONL); default: feedback.jsonl next to the store")

    @field_validator("collection")
    @classmethod
    def _collection_name(cls, name: str) -> str:
        # Checked here, so a bad name never reaches Chroma (a traceback) or reads as "no index".
        if not name:
            raise PydanticCustomError("collection_name", "is empty: name the Chroma collection, e.g. news")
        if not _COLLECTION_NAME.fullmatch(name) or ".." in name or _IPV4.fullmatch(name):
            raise PydanticCustomError(
                "collection_name",
                "'{name}' is not a valid Chroma collection name: use 3-512 letters, digits, '.', '_' or '-', "
                "starting and ending with a letter or digit, no '..', not an IP address (e.g. news)",
                {"name": name[:80]},
            )
        return name

    @field_validator("chunk_overlap")
    @classmethod
    def _overlap_below_size(cls, overlap: int, info: ValidationInfo) -> int:
        # LlamaIndex's splitter would refuse the pair only once the ingest had started.
        size = info.data.get("chunk_size")  # absent when chunk_size itself was invalid
        if size is not None and overlap >= size:
            raise PydanticCustomError(
                "chunk_overlap",
                "must be smaller than BOT_CHUNK_SIZE, but {overlap} >= {size}: lower BOT_CHUNK_OVERLAP or raise BOT_CHUNK_SIZE",
                {"overlap": overlap, "size": size},
            )
        return overlap


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def env_name(field: str) -> str:
    """The variable a user sets for `field` (OPENAI_API_KEY, not BOT_OPENAI_API_KEY)."""
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info else None
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return field if field.isupper() else f"BOT_{field.upper()}"


def describe_settings_error(err: ValidationError) -> str:
    """A settings ValidationError as one line: which variable and what is wrong, never its value (keys)."""
    parts = []
    for e in err.errors():
        where = env_name(str(e["loc"][0])) + ": " if e.get("loc") else ""
        parts.append(where + e["msg"].removeprefix("Value error, "))
    return "invalid setting " + "; ".join(parts) + " (see .env.example)"
