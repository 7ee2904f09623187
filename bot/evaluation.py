"""`bot eval`: canned questions through the same answer path as the CLI and the app, scored.

Writes `results.jsonl` (one row a question), `summary.json` (the metrics of bot.metrics plus the
settings used) and returns the Markdown table the CLI prints. A problem with one question line is a
warning naming the line; every other question is still evaluated.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from bot.config import PROJECT_DIR, Settings
from bot.metrics import COMPARED, AliasMap, Difference, Outcome, answer_matches, compare, first_relevant_rank, retrieval_metrics, summarize

EVAL_RUNS = PROJECT_DIR / "eval-runs"
EVAL_STORES = PROJECT_DIR / "data" / "eval-stores"
DEFAULT_TOLERANCE = 0.01
# LlamaIndex's defaults, spelled out so the baseline stays "the defaults" if ours change.
LI_DEFAULT_CHUNK, LI_DEFAULT_OVERLAP = 1024, 20


class EvalError(RuntimeError):
    """The evaluation cannot run as asked (no questions, unreadable baseline...); the message says why."""


@dataclass
class EvalQuestion:
    line: int
    id: str
    question: str
    reference: str = ""
    must_contain: list[re.Pattern] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # as written in the file
    answerable: bool = True
    history: list[tuple[str, str]] | None = None
    question_date: str | None = None  # when the question is asked; newer articles near it rank higher
    known_sources: list[str] = field(default_factory=list)  # article ids found in the store


def parse_answerable(value) -> bool | None:
    """true/false, the strings "true"/"false" in any case, or 1/0; None for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def read_questions(path: Path) -> tuple[list[EvalQuestion], list[str]]:
    """Questions of a JSONL file, and a warning for every line that is wrong (named by line number)."""
    path = Path(path)
    try:
        raw_lines = path.read_bytes().splitlines()
    except FileNotFoundError:
        raise EvalError(f"no question file at {path}") from None
    except OSError as err:
        raise EvalError(f"cannot read the question file {path}: {err.strerror}") from None
    questions: list[EvalQuestion] = []
    warnings: list[str] = []
    seen_ids: set[str] = set()
    for number, raw in enumerate(raw_lines, start=1):
        where = f"{path.name}:{number}"
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            warnings.append(f"{where}: skipped, not valid JSON ({err})")
            continue
        if not isinstance(record, dict):
            warnings.append(f"{where}: skipped, a line must be a JSON object")
            continue
        text = record.get("question")
        if not isinstance(text, str) or not text.strip():
            warnings.append(f"{where}: skipped, the field 'question' is missing or empty")
            continue
        answerable = parse_answerable(record.get("answerable", True))
        if answerable is None:
            warnings.append(f"{where}: skipped, 'answerable' should be true or false (or 1/0), "
                            f"not {json.dumps(record.get('answerable'), ensure_ascii=False)}")
            continue
        qid = str(record.get("id") or f"line-{number}")
        if qid in seen_ids:
            warnings.append(f"{where}: duplicate id '{qid}'; evaluated as '{qid}@{number}'")
            qid = f"{qid}@{number}"
        seen_ids.add(qid)
        q = EvalQuestion(line=number, id=qid, question=text, reference=str(record.get("answer") or ""))
        q.answerable = answerable
        patterns = record.get("must_contain") or []
        if isinstance(patterns, str):
            patterns = [patterns]
        if not isinstance(patterns, list):
            warnings.append(f"{where}: 'must_contain' should be a list of regular expressions; ignored")
            patterns = []
        for pattern in patterns:
            try:
                q.must_contain.append(re.compile(str(pattern), re.IGNORECASE))
            except re.error as err:
                warnings.append(f"{where}: must_contain pattern {pattern!r} is not a valid regex ({err}); ignored")
        sources = record.get("sources") or []
        if isinstance(sources, str):
            sources = [sources]
        if not isinstance(sources, list):
            warnings.append(f"{where}: 'sources' should be a list of article ids or file names; ignored")
            sources = []
        q.sources = [str(s) for s in sources]
        history = record.get("history")
        if history:
            if isinstance(history, list) and all(
                isinstance(t, (list, tuple)) and len(t) == 2 and all(isinstance(x, str) for x in t) for t in history
            ):
                q.history = [(t[0], t[1]) for t in history]
            else:
                warnings.append(f"{where}: 'history' should be a list of [user, assistant] pairs; asked without it")
        if record.get("question_date"):
            q.question_date = str(record["question_date"])
        questions.append(q)
    return questions, warnings


def _settings_stamp(settings: Settings) -> str:
    return settings.embed if settings.embed == "minilm" else f"{settings.embed}:{settings.embed_model}"


def corpus_key(settings: Settings, corpus: list[Path], chunked: bool = True) -> str:
    """A short hash of the corpus paths (+ chunk settings) and the embedding model."""
    parts = {"paths": sorted(str(Path(p).resolve()) for p in corpus), "embed": _settings_stamp(settings)}
    if chunked:
        parts.update(chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap)
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:12]


def default_store(settings: Settings, corpus: list[Path]) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(corpus[0]).resolve().name)[:40] if corpus else "corpus"
    return EVAL_STORES / f"{name}-{corpus_key(settings, corpus)}"


def git_commit() -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    if not commit:
        return None
    try:
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "bot", "prompts"], cwd=PROJECT_DIR,
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        dirty = ""
    return commit + ("-dirty" if dirty else "")


def settings_summary(settings: Settings, embed_model) -> dict:
    info = {
        "answerer": settings.answerer,
        "embedding_model": getattr(embed_model, "model_name", settings.embed),
        "chunk_size": settings.chunk_size,
        "chunk_overlap": settings.chunk_overlap,
        "top_k": settings.top_k,
        "retriever": settings.retriever,
        "min_answer_probability": settings.min_answer_probability,
        "answer_model": str(settings.answer_model) if settings.answer_model else "built-in",
        "max_answer_sentences": settings.max_answer_sentences,
        "spelling": settings.spelling,  # a misspelt question set scores very differently without it
    }
    if settings.answerer != "extractive":
        info["llm_model"] = str(settings.gguf_path) if settings.answerer == "gguf" else settings.llm_model
    return info


@dataclass
class EvalRun:
    out_dir: Path
    summary: dict
    table: str
    warnings: list[str]
    comparison: list[Difference] = field(default_factory=list)

    @property
    def regressed(self) -> list[Difference]:
        return [d for d in self.comparison if d.worse]


RUN_FILES = ("summary.json", "results.jsonl")


def _outcome(row: dict) -> str:
    if not row.get("answerable", True):
        return "refused" if row.get("refused") else "answered (should refuse)"
    if row.get("refused"):
        return "refused"
    return {True: "right", False: "wrong"}.get(row.get("correct"), "answered")


def _rows_by_id(path: Path) -> dict[str, dict]:
    rows = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and "id" in row:
            rows[str(row["id"])] = row
    return rows


def changed_questions(results: Path, baseline_results: Path) -> list[str]:
    """One line for each question (by id, in both runs) whose outcome differs: "a4: right -> wrong"."""
    before, after = _rows_by_id(baseline_results), _rows_by_id(results)
    return [f"{qid}: {_outcome(before[qid])} -> {_outcome(row)}" for qid, row in after.items()
            if qid in before and _outcome(before[qid]) != _outcome(row)]


def check_out_dir(out: Path) -> None:
    """An EvalError, before anything is loaded, when `--out` cannot take this run's files."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise EvalError(f"--out {out} is a file, not a folder: choose a folder for the run's files")
    for parent in out.parents:  # the first existing folder above it must be a folder, not a file
        if parent.exists():
            if not parent.is_dir():
                raise EvalError(f"--out {out} cannot be created: {parent} is a file, not a folder")
            break
    held = [name for name in RUN_FILES if (out / name).exists()]
    if held:
        raise EvalError(f"--out {out} already holds a run ({', '.join(held)}): choose another folder or remove it")


def fresh_run_dir(started: datetime) -> Path:
    """eval-runs/<UTC time>/, with a suffix when a run of the same second is already there."""
    base = EVAL_RUNS / started.strftime("%Y%m%d-%H%M%S")
    folder, n = base, 1
    while folder.exists():
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    return folder


def baseline_file(path: Path) -> Path:
    path = Path(path)
    return path / "summary.json" if path.is_dir() else path


def load_baseline(path: Path) -> dict:
    path = baseline_file(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvalError(f"no baseline summary at {path}") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise EvalError(f"the baseline {path} is not a readable summary.json ({err})") from None
    if not isinstance(data, dict) or "n_questions" not in data:
        raise EvalError(f"the baseline {path} is not a summary.json written by `bot eval`")
    return data


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def drop_non_numeric(baseline: dict, name: str) -> list[str]:
    """Blank out (None) the baseline's metrics that are not numbers; a warning for each."""
    warnings = []
    for metric in COMPARED:
        value = baseline.get(metric)
        if value is not None and not _is_number(value):
            warnings.append(f"the baseline {name}: {metric} is {json.dumps(value, ensure_ascii=False)}, "
                            "not a number; not compared")
            baseline[metric] = None
    return warnings


def comparability(summary: dict, baseline: dict, name: str) -> str | None:
    """A warning naming what differs between this run and the baseline's (questions file, counts), if any."""
    this, other = summary.get("run") or {}, baseline.get("run") if isinstance(baseline.get("run"), dict) else {}
    differences = []
    if other.get("questions_file") and other["questions_file"] != this.get("questions_file"):
        differences.append(f"questions file {other['questions_file']} (this run: {this.get('questions_file')})")
    if baseline.get("n_questions") != summary.get("n_questions"):
        differences.append(f"{baseline.get('n_questions')} questions (this run: {summary.get('n_questions')})")
    if other.get("articles") is not None and other["articles"] != this.get("articles"):
        differences.append(f"{other['articles']} articles (this run: {this.get('articles')})")
    if not differences:
        return None
    return (f"the baseline {name} is not a run of the same questions on the same articles: it has "
            + "; ".join(differences) + ". The comparison below compares different things")


def _judge(settings: Settings):
    """LlamaIndex's CorrectnessEvaluator on the configured generator, or an EvalError saying why not."""
    if settings.answerer == "extractive":
        raise EvalError(
            "--judge needs a generator to judge with: set BOT_ANSWERER to openai, openai-compatible or gguf"
        )
    from bot import models

    make_llm = getattr(models, "make_llm", None)
    if make_llm is None:
        raise EvalError("--judge is unavailable: this version has no LLM builder (bot.models.make_llm)")
    from llama_index.core.evaluation import CorrectnessEvaluator

    return CorrectnessEvaluator(llm=make_llm(settings))


def _articles(store) -> AliasMap:
    aliases = AliasMap()
    for doc_id, doc in store.docstore.docs.items():
        meta = getattr(doc, "metadata", {}) or {}
        aliases.add(doc_id, meta.get("source", ""), meta.get("url", ""))
    return aliases


def _fmt(value, metric: str = "") -> str:
    if value is None:
        return "n/a"
    if not _is_number(value):
        return str(value)
    if metric.startswith("latency") or isinstance(value, int):
        return f"{value:,.0f}" if metric.startswith("latency") else str(value)
    return f"{value:.3f}"


def _fmt_diff(d: Difference) -> str:
    if d.diff is None:
        return "n/a"
    text = f"{d.diff:+,.0f}" if d.metric.startswith("latency") else f"{d.diff:+.3f}"
    return text + (" worse" if d.worse else "")


# The count each rate is over; a share of questions shows "(hits/over)", a mean "(n=over)".
OVER = {
    "hits_at_1": "n_retrieval", "hits_at_5": "n_retrieval", "hits_at_10": "n_retrieval", "mrr_at_10": "n_retrieval",
    "accuracy": "n_accuracy", "judge_pass_rate": "n_judged", "citation_precision": "n_citation_precision",
    "citation_recall": "n_citation_recall", "refusal_rate": "n_unanswerable", "false_refusal_rate": "n_answerable",
}
MEANS = ("mrr_at_10", "citation_precision")


def _fmt_over(summary: dict, key: str) -> str:
    text = _fmt(summary[key], key)
    over = summary.get(OVER.get(key, ""))
    if not _is_number(summary[key]) or not isinstance(over, int) or isinstance(over, bool):
        return text
    if key in MEANS:
        return f"{text} (n={over})"
    return f"{text} ({round(summary[key] * over)}/{over})"


TABLE_ROWS = [
    ("n_questions", "questions"), ("n_skipped", "skipped (rejected by the bot)"), ("n_answerable", "answerable"),
    ("hits_at_1", "Hits@1"),
    ("hits_at_5", "Hits@5"), ("hits_at_10", "Hits@10"), ("mrr_at_10", "MRR@10"), ("accuracy", "accuracy"),
    ("judge_pass_rate", "LLM-judged correct"), ("citation_precision", "citation precision"),
    ("citation_recall", "citation recall"), ("refusal_rate", "refusal rate (unanswerable)"),
    ("false_refusal_rate", "false refusal rate (answerable)"), ("latency_p50_ms", "latency p50 (ms)"),
    ("latency_p95_ms", "latency p95 (ms)"),
]


def markdown_table(summary: dict, comparison: list[Difference] | None = None) -> str:
    diffs = {d.metric: d for d in comparison or []}
    lines = ["| metric | value |" + (" baseline | diff |" if diffs else ""), "|---|---:|" + ("---:|---:|" if diffs else "")]
    for key, label in TABLE_ROWS:
        if key not in summary:
            continue
        row = f"| {label} | {_fmt_over(summary, key)} |"
        if diffs:
            d = diffs.get(key)
            row += f" {_fmt(d.baseline, key)} | {_fmt_diff(d)} |" if d else " | |"
        lines.append(row)
    table = "\n".join(lines)
    if summary.get("baselines"):
        rows = ["| retrieval | Hits@1 | Hits@5 | Hits@10 | MRR@10 |", "|---|---:|---:|---:|---:|"]
        systems = [(f"this bot ({summary['settings']['retriever']})", summary)] + [
            (b["name"], b) for b in summary["baselines"].values()
        ]
        for name, m in systems:
            rows.append(f"| {name} | " + " | ".join(_fmt(m.get(k)) for k in ("hits_at_1", "hits_at_5", "hits_at_10", "mrr_at_10")) + " |")
        table += "\n\n" + "\n".join(rows)
    return table


def _progress(quiet: bool, label: str):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from bot.cli import console

    return Progress(
        TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, disable=quiet, transient=True,
    )


def _sources_of(nodes) -> list[str]:
    """Article ids of retrieved chunks, distinct, in rank order."""
    return list(dict.fromkeys((n.node.ref_doc_id or n.node.metadata.get("source") or n.node.node_id) for n in nodes))


def _li_default_retriever(settings: Settings, corpus: list[Path], embed_model, quiet: bool, root: Path = EVAL_STORES):
    """(a) LlamaIndex's default dense retrieval: VectorStoreIndex + default SentenceSplitter, own store;
    returned with the number of articles it read."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from llama_index.core import StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from bot.loaders import load_paths

    docs = load_paths(corpus, settings.max_file_mb).documents
    stamp = hashlib.sha256("".join(sorted(f"{d.doc_id}:{d.hash}" for d in docs)).encode()).hexdigest()
    folder = Path(root) / f"llamaindex-default-{corpus_key(settings, corpus, chunked=False)}"
    folder.mkdir(parents=True, exist_ok=True)
    client = chromadb.PersistentClient(path=str(folder / "chroma"), settings=ChromaSettings(anonymized_telemetry=False))
    marker = folder / "corpus_stamp"
    fresh = marker.exists() and marker.read_text() == stamp
    if not fresh:
        try:
            client.delete_collection("default")
        except Exception:  # not there yet
            pass
    collection = client.get_or_create_collection("default", embedding_function=None)
    vector_store = ChromaVectorStore(chroma_collection=collection)
    if fresh:
        index = VectorStoreIndex.from_vector_store(vector_store, embed_model=embed_model)
    else:
        splitter = SentenceSplitter(chunk_size=LI_DEFAULT_CHUNK, chunk_overlap=LI_DEFAULT_OVERLAP)
        index = VectorStoreIndex.from_documents(
            docs, storage_context=StorageContext.from_defaults(vector_store=vector_store),
            embed_model=embed_model, transformations=[splitter], show_progress=not quiet,
        )
        marker.write_text(stamp)
    return index.as_retriever(similarity_top_k=settings.retrieval_depth), len(docs)


def run_baselines(qa, questions: list[EvalQuestion], settings: Settings, corpus: list[Path], aliases: AliasMap,
                  quiet: bool = False, warn: Callable[[str], None] = print, root: Path = EVAL_STORES) -> dict:
    from bot.answer import retrieval_query
    from bot.lexical import load_bm25

    systems = {}
    # Every system is asked for as many chunks as the bot's retrievers (BOT_RETRIEVAL_DEPTH) and
    # measured on the first ten distinct articles of them: ten chunks gave the baselines 3-10 articles.
    bm25 = load_bm25(qa.store.folder, settings.retrieval_depth)
    if bm25 is not None:
        systems["bm25"] = ("BM25 alone (LlamaIndex BM25Retriever, same chunks)", bm25)
    else:
        warn("no BM25 index in the store: BM25 baseline skipped")
    default_dense, read = _li_default_retriever(settings, corpus, qa.embed_model, quiet, root)
    systems["llamaindex_default"] = (
        f"LlamaIndex default dense (VectorStoreIndex, {LI_DEFAULT_CHUNK}/{LI_DEFAULT_OVERLAP} chunks)", default_dense,
    )
    stored = qa.store.article_count()
    if read != stored:  # `--store S --no-ingest` without `--corpus`: the baseline would read corpus/
        articles = f"{read} article" + ("" if read == 1 else "s")
        warn(f"the LlamaIndex default baseline reads {', '.join(map(str, corpus))} ({articles}) but the store "
             f"holds {stored}: its figures are for other articles; pass --corpus with the store's articles")
    results = {}
    answerable = [q for q in questions if q.answerable and q.known_sources]
    for key, (name, retriever) in systems.items():
        pairs = []
        with _progress(quiet, key) as bar:
            for q in bar.track(answerable, description=key):
                nodes = retriever.retrieve(retrieval_query(q.question, q.history))
                pairs.append((aliases.canonical(_sources_of(nodes)), q.known_sources))
        results[key] = {"name": name, **retrieval_metrics(pairs)}
    return results


def as_of(q: EvalQuestion) -> dict:
    """The answer path's `as_of` option for a question that has a date (rtqa-dev's `question_date`)."""
    return {"as_of": q.question_date} if q.question_date else {}


def run_eval(
    questions_path: Path,
    corpus: list[Path] | None = None,
    out: Path | None = None,
    baseline: Path | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    settings: Settings | None = None,
    store: Path | None = None,
    judge: bool = False,
    baselines: bool = False,
    ingest: bool = True,
    baseline_stores: Path = EVAL_STORES,
    quiet: bool = False,
    warn: Callable[[str], None] = print,
) -> EvalRun:
    from bot.answer import QA
    from bot.answer_types import QuestionError
    from bot.cli import run_ingest
    from bot.config import get_settings

    settings = settings or get_settings()
    questions, warnings = read_questions(Path(questions_path))
    for w in warnings:
        warn(w)
    if not questions:
        raise EvalError(f"{questions_path} has no usable questions (see the warnings above)")
    if out:
        check_out_dir(Path(out))
    baseline_summary = load_baseline(baseline) if baseline else None
    if baseline_summary is not None:
        for w in drop_non_numeric(baseline_summary, str(baseline_file(baseline))):
            warnings.append(w)
            warn(w)
    evaluator = _judge(settings) if judge else None

    corpus_known = bool(corpus) or ingest  # else the store holds whatever was ingested into it earlier
    corpus = [Path(p) for p in (corpus or [settings.corpus])]
    for p in corpus:
        if not p.exists():
            raise EvalError(f"no corpus at {p}")
    settings = settings.model_copy(update={"store": Path(store) if store else default_store(settings, corpus)})
    if ingest:
        report = run_ingest(settings, corpus, quiet=quiet)
        for problem in report.problems:  # a skipped article changes what the run measured: keep it on record
            warnings.append(problem)
            warn(problem)
    qa = QA(settings)
    aliases = _articles(qa.store)
    if not len(aliases):
        raise EvalError(f"the store {settings.store} holds no articles: check the corpus path")

    for q in questions:
        unknown = [s for s in q.sources if aliases.resolve(s) is None]
        if unknown:
            w = f"{Path(questions_path).name}:{q.line}: unknown source {', '.join(map(repr, unknown))} (not in the corpus)"
            warnings.append(w)
            warn(w)
        q.known_sources = aliases.canonical(q.sources)

    started, commit = datetime.now(timezone.utc), git_commit()
    out_dir = Path(out) if out else fresh_run_dir(started)
    out_dir.mkdir(parents=True, exist_ok=True)
    outcomes: list[Outcome] = []
    judge_scores: list[float] = []
    judge_passes: list[float] = []
    skipped: list[str] = []  # ids of the questions the bot rejects (too long, no words)
    with (out_dir / "results.jsonl").open("w", encoding="utf-8") as fh, _progress(quiet, "eval") as bar:
        for q in bar.track(questions, description="eval"):
            t0 = time.perf_counter()
            try:
                answer = qa.answer(q.question, q.history, **as_of(q))
            except QuestionError as err:
                w = f"{Path(questions_path).name}:{q.line}: question '{q.id}' skipped, the bot rejects it: {err}"
                skipped.append(q.id)
                warnings.append(w)
                warn(w)
                continue
            latency = (time.perf_counter() - t0) * 1000
            retrieved = aliases.canonical(answer.retrieved)
            cited = [aliases.resolve(c.doc_id or c.source) or c.source for c in answer.citations]
            matched = answer_matches(answer.text, q.must_contain) if q.must_contain else None
            outcome = Outcome(
                answerable=q.answerable, sources=q.known_sources, retrieved=retrieved, cited=cited,
                refused=answer.refused, matched=matched, latency_ms=latency,
            )
            outcomes.append(outcome)
            if not q.answerable:
                correct = answer.refused  # counted by the refusal rate
            elif matched is None:
                correct = None  # no must_contain pattern: accuracy does not count it
            else:
                correct = not answer.refused and matched
            row = {
                "id": q.id, "question": q.question, "answer": answer.text, "refused": answer.refused,
                "citations": [c.public() for c in answer.citations], "retrieved": answer.retrieved,
                "latency_ms": round(latency, 1), "answerable": q.answerable, "sources": q.sources,
                "reference": q.reference, "correct": correct, "must_contain_matched": matched,
                "first_relevant_rank": first_relevant_rank(retrieved, q.known_sources) if q.known_sources else None,
            }
            if evaluator is not None and q.answerable and q.reference:
                try:
                    verdict = evaluator.evaluate(query=q.question, response=answer.text, reference=q.reference)
                    row["judge_score"], row["judge_passing"] = verdict.score, verdict.passing
                    if verdict.score is not None:
                        judge_scores.append(float(verdict.score))
                        judge_passes.append(1.0 if verdict.passing else 0.0)
                except Exception as err:  # a judge failure must not end the run; it is reported
                    warn(f"{q.id}: the LLM judge failed ({type(err).__name__}: {err})")
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    if not outcomes:
        raise EvalError("no question could be evaluated (see the warnings above)")

    summary = summarize(outcomes)
    summary["n_skipped"] = len(skipped)
    if evaluator is not None:
        summary["judge_score"] = sum(judge_scores) / len(judge_scores) if judge_scores else None
        summary["judge_pass_rate"] = sum(judge_passes) / len(judge_passes) if judge_passes else None
        summary["n_judged"] = len(judge_passes)
    summary["settings"] = settings_summary(settings, qa.embed_model)
    if baselines:
        def warn_and_record(message: str) -> None:
            warnings.append(message)
            warn(message)

        summary["baselines"] = run_baselines(qa, questions, settings, corpus, aliases, quiet, warn_and_record,
                                             baseline_stores)
    summary["run"] = {
        "date": started.isoformat(timespec="seconds"),
        "commit": commit,
        "questions_file": str(Path(questions_path).resolve()),
        "corpus": [str(p.resolve()) for p in corpus] if corpus_known else None,
        "store": str(settings.store),
        "articles": len(aliases),
        "warnings": warnings,
    }
    if baseline_summary:
        summary["baseline"] = {"summary": str(baseline_file(baseline).resolve()), "tolerance": tolerance}
        differs = comparability(summary, baseline_summary, str(baseline_file(baseline)))
        if differs:
            warnings.append(differs)
            warn(differs)
        prior = baseline_file(baseline).parent / "results.jsonl"
        if prior.is_file():  # which questions moved, not only by how much each rate did
            summary["baseline"]["changed"] = changed_questions(out_dir / "results.jsonl", prior)
    comparison = compare(summary, baseline_summary, tolerance) if baseline_summary else []
    if comparison:
        summary["baseline_diff"] = {d.metric: d.diff for d in comparison}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    table = markdown_table(summary, comparison)
    (out_dir / "table.md").write_text(table + "\n", encoding="utf-8")
    return EvalRun(out_dir=out_dir, summary=summary, table=table, warnings=warnings, comparison=comparison)
