"""`bot bench`: speed and memory of ingest and answers on one corpus, into a fresh store.

Numbers only (no pass/fail): ingest time, articles/s and chunks/s next to the embedding model alone
on the same chunk texts (the pipeline's overhead as a ratio), a no-change re-ingest, retrieval and
full-answer latency p50/p95 over a fixed question list, and the process's peak RSS.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from bot.config import PROJECT_DIR, Settings
from bot.metrics import percentile


class BenchError(RuntimeError):
    """The benchmark cannot run as asked; the message says why."""


@dataclass
class BenchResult:
    numbers: dict
    table: str
    path: Path


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _table(n: dict) -> str:
    rows = [
        ("articles", f"{n['articles']:,}"),
        ("chunks", f"{n['chunks']:,}"),
        ("ingest, fresh store (s)", f"{n['ingest_s']:.1f}"),
        ("ingest articles/s", f"{n['articles_per_s']:.1f}"),
        ("ingest chunks/s", f"{n['chunks_per_s']:.1f}"),
        (f"embedding model alone, chunks/s ({n['embed_only_chunks']:,} chunks)", f"{n['embed_only_chunks_per_s']:.1f}"),
        ("pipeline overhead (ingest time / embedding-alone time)", f"{n['pipeline_overhead_ratio']:.2f}x"),
        ("docstore writes during the ingest (count / s)", f"{n['docstore_writes']} / {n['docstore_write_s']:.1f}"),
        ("re-ingest, nothing changed (s)", f"{n['reingest_s']:.2f}"),
        (f"retrieval latency p50 / p95 (ms, {n['n_questions']} questions)", f"{n['retrieve_p50_ms']:.0f} / {n['retrieve_p95_ms']:.0f}"),
        ("full answer latency p50 / p95 (ms)", f"{n['answer_p50_ms']:.0f} / {n['answer_p95_ms']:.0f}"),
        ("peak RSS (MB)", f"{n['peak_rss_mb']:.0f}"),
    ]
    return "\n".join(["| measure | value |", "|---|---:|"] + [f"| {a} | {b} |" for a, b in rows])


def run_bench(
    settings: Settings, corpus: Path | None = None, questions: Path | None = None,
    store: Path | None = None, out: Path | None = None, quiet: bool = False,
    embed_sample: int = 0, limit: int = 0, warn: Callable[[str], None] = print,
) -> BenchResult:
    from llama_index.core.schema import MetadataMode

    from bot.answer import QA, check_question, retrieval_query
    from bot.answer_types import QuestionError
    from bot.cli import run_ingest
    from bot.evaluation import EvalError, as_of, read_questions
    from bot.lexical import all_chunks
    from bot.models import make_embed_model

    corpus = Path(corpus or settings.corpus)
    if not corpus.exists():
        raise BenchError(f"no corpus at {corpus}")
    questions = Path(questions or PROJECT_DIR / "corpus" / "questions.jsonl")
    try:
        read, warnings = read_questions(questions)
    except EvalError as err:
        raise BenchError(str(err)) from None
    asked = []
    for q in read:  # only questions the bot takes are timed; the others are named, not dropped in silence
        try:
            check_question(q.question, settings.max_question_chars, follow_up=bool(q.history))
        except QuestionError as err:
            warnings.append(f"{q.id}: not timed, {err}")
            continue
        asked.append(q)
    for warning in warnings:
        warn(warning)
    if not asked:
        raise BenchError(f"{questions} has no usable questions")
    if limit:
        asked = asked[:limit]

    temporary = store is None
    folder = Path(tempfile.mkdtemp(prefix="bot-bench-")) if temporary else Path(store)
    if not temporary and folder.exists() and any(folder.iterdir()):
        raise BenchError(f"{folder} is not empty: bench needs a new or empty folder for a fresh store")
    settings = settings.model_copy(update={"store": folder})
    started = datetime.now(timezone.utc)
    try:
        first = run_ingest(settings, [corpus], quiet=quiet)
        if not first.added:
            raise BenchError(f"nothing was ingested from {corpus}: " + "; ".join(first.problems[:3]))
        again = run_ingest(settings, [corpus], quiet=quiet)

        embed_model = make_embed_model(settings)
        qa = QA(settings, embed_model=embed_model)
        # The same texts the pipeline embedded: chunk text with its embeddable metadata (the title).
        texts = [node.get_content(metadata_mode=MetadataMode.EMBED) for node in all_chunks(qa.store.collection)]
        if embed_sample:
            texts = texts[:embed_sample]  # a fixed slice keeps a big corpus's bench short; chunks/s stays comparable
        batch = settings.embed_batch_size
        t0 = time.perf_counter()
        for i in range(0, len(texts), batch):
            embed_model.get_text_embedding_batch(texts[i : i + batch])
        embed_s = time.perf_counter() - t0

        qa.answer(asked[0].question, asked[0].history)  # warm-up: loads BM25 and builds the retrievers, not counted
        retrieve_ms, answer_ms = [], []
        for q in asked:
            t0 = time.perf_counter()
            qa.retriever.retrieve(retrieval_query(q.question, q.history), **as_of(q))
            retrieve_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            qa.answer(q.question, q.history, **as_of(q))
            answer_ms.append((time.perf_counter() - t0) * 1000)
    finally:
        if temporary:
            shutil.rmtree(folder, ignore_errors=True)

    numbers = {
        "date": started.isoformat(timespec="seconds"),
        "corpus": str(corpus.resolve()),
        "questions_file": str(questions.resolve()),
        "articles": first.added,
        "chunks": first.chunks,
        "ingest_s": first.seconds,
        "articles_per_s": first.added / first.seconds,
        "chunks_per_s": first.chunks / first.seconds,
        "embed_only_s": embed_s,
        "embed_only_chunks": len(texts),
        "embed_only_chunks_per_s": len(texts) / embed_s if embed_s else 0.0,
        # ingest time over the time the model alone would take for all chunks
        "pipeline_overhead_ratio": first.seconds / (embed_s * first.chunks / len(texts)) if embed_s and texts else 0.0,
        "docstore_writes": first.docstore_writes,
        "docstore_write_s": first.docstore_write_s,
        "reingest_s": again.seconds,
        "n_questions": len(retrieve_ms),
        "retrieve_p50_ms": percentile(retrieve_ms, 50),
        "retrieve_p95_ms": percentile(retrieve_ms, 95),
        "answer_p50_ms": percentile(answer_ms, 50) or 0.0,
        "answer_p95_ms": percentile(answer_ms, 95) or 0.0,
        "peak_rss_mb": _peak_rss_mb(),
        "settings": {
            "answerer": settings.answerer, "embedding_model": embed_model.model_name,
            "chunk_size": settings.chunk_size, "chunk_overlap": settings.chunk_overlap,
            "top_k": settings.top_k, "retriever": settings.retriever,
            "embed_batch_size": settings.embed_batch_size, "embed_threads": settings.embed_threads,
        },
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }
    from bot.evaluation import git_commit

    numbers["commit"] = git_commit()
    path = Path(out) if out else PROJECT_DIR / "eval-runs" / f"bench-{started.strftime('%Y%m%d-%H%M%S')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(numbers, indent=2) + "\n", encoding="utf-8")
    return BenchResult(numbers=numbers, table=_table(numbers), path=path)
