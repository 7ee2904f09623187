"""`bot`: ingest, ask, chat (and the commands other modules add) from a terminal."""

from __future__ import annotations

import json
import os
import signal
import sys
from functools import lru_cache
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bot.answer_types import Answer, QuestionError
from bot.config import Settings, describe_settings_error, get_settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Question answering over news articles, with citations.")
console = Console(stderr=True, soft_wrap=True)  # messages stay one line in logs and pipes
out = Console(soft_wrap=True)

SHOW_CHANGED = 30  # questions listed by `bot eval --baseline`; summary.json has them all
SHOW_SKIPPED = 20  # skipped files listed one a line by `bot ingest`; the rest are counted
StoreOption = typer.Option(None, "--store", envvar="BOT_STORE", help="Chroma store folder (default: data/store).")


@lru_cache(maxsize=1)
def warn_about_settings() -> None:
    """Unparsable .env lines and unknown BOT_* names, once per run (they are never an error)."""
    from bot.config_check import settings_warnings

    for warning in settings_warnings():
        console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)


def settings_for(store: Optional[Path], **overrides) -> Settings:
    warn_about_settings()
    base = get_settings()
    changes = {k: v for k, v in overrides.items() if v is not None}
    if store is not None:
        changes["store"] = store
    return base.model_copy(update=changes) if changes else base


def fail(message: str, code: int = 1, as_json: bool = False) -> None:
    if as_json:  # scripts read stdout: they get the error in the answer's place
        out.print_json(json.dumps({"error": message, "refused": None}, ensure_ascii=False))
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def _friendly_errors(func):
    """Known failures become one readable line; nothing prints a traceback at a user."""
    import functools

    from pydantic import ValidationError

    from bot.embedding import ModelFileError
    from bot.models import ModelConfigError
    from bot.store import StoreError

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        as_json = bool(kwargs.get("as_json"))  # the command's --json, when it has one
        try:
            return func(*args, **kwargs)
        except (StoreError, ModelConfigError, ModelFileError, QuestionError) as err:
            fail(str(err), as_json=as_json)
        except ValidationError as err:  # a bad value in the environment or .env
            if err.title != "Settings":
                raise
            fail(describe_settings_error(err), as_json=as_json)
        except KeyboardInterrupt as err:
            code = 143 if isinstance(err, Terminated) else 130  # the shell's codes for SIGTERM and SIGINT
            fail("interrupted; nothing half-written was kept, run the command again to finish", code, as_json)

    return wrapper


def startup_line(settings: Settings) -> str:
    """Which answerer, embeddings and store are in use; says so when a key is set but not used."""
    from bot.models import SMALL_MODEL_WARNING, describe_answerer

    embeddings = settings.embed if settings.embed == "minilm" else f"{settings.embed} ({settings.embed_model})"
    store = str(settings.store)
    if settings.chroma_host:
        store = f"Chroma server {settings.chroma_host}:{settings.chroma_port} (docstore in {settings.store})"
    line = f"answerer: {describe_answerer(settings)}; embeddings: {embeddings}; store: {store}"
    if settings.answerer == "extractive" and settings.openai_api_key:
        line += " (OPENAI_API_KEY is set but not used: set BOT_ANSWERER=openai to use it)"
    if settings.answerer == "gguf" and settings.gguf_path is None:
        line += f"; warning: {SMALL_MODEL_WARNING}"
    return line


def progress_lines():
    """`progress(done, total)` that prints a line about every tenth of the way (for logs and CI)."""
    printed = 0

    def progress(done: int, total: int) -> None:
        nonlocal printed
        if done and (done == total or done - printed >= max(1, total // 10)):
            printed = done
            console.print(f"embedded {done}/{total} articles", highlight=False, markup=False)

    return progress


def run_ingest(settings: Settings, paths: list[Path], rebuild: bool = False, quiet: bool = False, progress=None):
    """Ingest with a terminal progress bar, or with `progress(done, total)` (the app's st.progress)."""
    from functools import partial

    from bot.ingest import ingest, rebuild as rebuild_index
    from bot.models import make_embed_model
    from bot.store import open_store

    embed_model = make_embed_model(settings)
    if rebuild:  # drops the old index only once the articles are read and the chunking checked
        run = partial(rebuild_index, settings, paths, embed_model)
    else:
        run = partial(ingest, open_store(settings, embed_model, writable=True), paths, embed_model)
    if quiet:
        return run()
    if progress is None and not console.is_terminal:  # a log or pipe shows no bar: print lines instead
        progress = progress_lines()
    if progress is not None:
        return run(progress=progress)
    with Progress(
        TextColumn("[bold]ingest"), BarColumn(), MofNCompleteColumn(), TextColumn("articles"),
        TimeElapsedColumn(), console=console, transient=True,
    ) as bar:
        task = bar.add_task("ingest", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        report = run(progress=progress)
    return report


@app.command("ingest")
@_friendly_errors
def ingest_command(
    paths: List[Path] = typer.Argument(None, help="Files or folders of articles (default: corpus/)."),
    store: Optional[Path] = StoreOption,
    rebuild: bool = typer.Option(False, "--rebuild", help="Drop the index and embed everything again."),
):
    """Add, update and remove articles so the index matches the given files and folders."""
    from bot.loaders import QUESTION_FILE, SUPPORTED_SUFFIXES, no_such_path

    settings = settings_for(store)
    targets = list(paths) if paths else [settings.corpus]
    if not any(path.exists() for path in targets):  # nothing to ingest: leave no empty store folder behind
        missing = "; ".join(no_such_path(path) for path in targets)
        fail(f"nothing ingested, the store is unchanged: {missing}")
    report = run_ingest(settings, targets, rebuild=rebuild)
    for problem in report.problems:
        console.print(f"[yellow]warning:[/] {escape(problem)}", highlight=False)
    # Question files (corpus/ holds the team's) are one line: they are expected, not a problem.
    questions = [s.removesuffix(f": {QUESTION_FILE}") for s in report.skipped if s.endswith(f": {QUESTION_FILE}")]
    if questions:
        names = ", ".join(Path(q).name for q in questions)
        console.print(f"skipped {len(questions)} question file(s), for bot eval: {names}", style="dim",
                      highlight=False, markup=False)
    others = [s for s in report.skipped if not s.endswith(f": {QUESTION_FILE}")]
    for skipped in others[:SHOW_SKIPPED]:  # e.g. images and PDFs in the folder: listed, not read
        console.print(f"skipped: {skipped}", style="dim", highlight=False, markup=False)
    if len(others) > SHOW_SKIPPED:
        console.print(f"skipped: {len(others) - SHOW_SKIPPED} more files", style="dim", highlight=False)
    out.print(report.summary(), highlight=False)
    if not (report.added or report.updated or report.unchanged or report.deleted or report.problems or others):
        where = ", ".join(str(path) for path in targets)  # an empty folder, or only question files
        fail(f"no articles found in {where} (read: {', '.join(sorted(SUPPORTED_SUFFIXES))})")
    if report.kept or (report.problems and not (report.added or report.updated or report.unchanged)):
        raise typer.Exit(1)


def _qa(settings: Settings):
    from bot.answer import QA
    from bot.store import require_articles

    qa = QA(settings)
    require_articles(qa.store)  # an empty index would only refuse: say how to fill it
    return qa


def print_answer(answer: Answer) -> None:
    out.print(answer.text, highlight=False, markup=False)
    if answer.refused:
        if answer.closest:
            out.print("\nClosest matches (these do not answer the question):", style="dim")
            for c in answer.closest:
                out.print(f"  - {c.title} ({c.date or 'no date'}, {c.source}): \"{c.quote}\"", style="dim", highlight=False, markup=False)
    else:
        out.print()
        for c in answer.citations:
            out.print(f"[{c.n}] {c.title} — {c.date or 'no date'} — {c.source} (chars {c.start}-{c.end})", highlight=False, markup=False)
            out.print(f"    \"{c.quote}\"", style="dim", highlight=False, markup=False)
    for note in answer.notes:  # under a refusal too: they say what the model wrote and why it was dropped
        out.print(f"note: {note}", style="dim", highlight=False, markup=False)


@app.command("ask")
@_friendly_errors
def ask_command(
    question: str = typer.Argument(..., help="The question."),
    store: Optional[Path] = StoreOption,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (the scripting contract)."),
    top_k: Optional[int] = typer.Option(None, "--top-k", min=1, max=100, help="Passages to answer from."),
):
    """Answer one question with citations, or refuse when the articles don't say."""
    from bot.answer import check_question

    settings = settings_for(store)
    check_question(question, settings.max_question_chars)  # a bad question fails before any loading
    if not as_json:
        console.print(startup_line(settings), style="dim", highlight=False, markup=False)
    answer = _qa(settings).answer(question, top_k=top_k)
    if as_json:
        out.print_json(json.dumps(answer.to_json(), ensure_ascii=False))
    else:
        print_answer(answer)


END_CHAT = {"exit", "quit"}


def read_question() -> str | None:
    """The next line typed or piped in, stripped; None at the end of input (Ctrl-D) or on Ctrl-C."""
    try:
        if sys.stdin.isatty():
            return input("\nyou> ").strip()
        line = sys.stdin.readline()
    except (EOFError, KeyboardInterrupt):
        return None
    return line.strip() if line else None  # readline() gives "" only at the end of input


@app.command("chat")
@_friendly_errors
def chat_command(store: Optional[Path] = StoreOption):
    """Ask questions in a loop; follow-ups use the conversation. A blank line is ignored; `exit`, `quit`, Ctrl-D or Ctrl-C ends."""
    from bot.models import ModelServerError

    settings = settings_for(store)
    console.print(startup_line(settings), style="dim", highlight=False, markup=False)
    qa = _qa(settings)
    if settings.answerer != "extractive":  # a missing key or model file is said now, not after a question
        from bot.generate import generator_for

        generator_for(qa)
    history: list[tuple[str, str]] = []
    while True:
        question = read_question()
        if question is None or question.lower() in END_CHAT:
            break
        if not question:  # a stray Enter must not end the conversation: ask again
            continue
        if not sys.stdin.isatty():  # piped: echo the question, or a log shows answers with no questions
            out.print(f"\nyou> {question}", highlight=False, markup=False)
        try:
            answer = qa.answer(question, history)
        except (QuestionError, ModelServerError) as err:  # say what failed; the chat goes on
            console.print(f"error: {err}", style="yellow", markup=False, highlight=False)
            continue
        print_answer(answer)
        # A refusal's fixed sentence would only add noise to the next follow-up's search.
        history.append((answer.question, "" if answer.refused else answer.text))


@app.command("ui", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@_friendly_errors
def ui_command(ctx: typer.Context, store: Optional[Path] = StoreOption):
    """Open the browser chat (Streamlit). Extra options go to `streamlit run`, e.g. --server.port 8502."""
    env = dict(os.environ)
    if store is not None:
        env["BOT_STORE"] = str(store.expanduser().resolve())
    app_path = Path(__file__).resolve().with_name("app.py")
    args = [sys.executable, "-m", "streamlit", "run", str(app_path)]
    for option in ("--browser.gatherUsageStats", "--server.showEmailPrompt"):
        if not any(a.startswith(option) for a in ctx.args):
            args.append(f"{option}=false")  # offline by default: no usage pings, no email prompt
    args += list(ctx.args)
    console.print(startup_line(settings_for(store)), style="dim", highlight=False)
    sys.stdout.flush()
    os.execve(sys.executable, args, env)


@app.command("eval")
@_friendly_errors
def eval_command(
    questions: Path = typer.Argument(..., help="Canned questions, JSONL (see README: Quality)."),
    corpus: List[Path] = typer.Option(None, "--corpus", help="Articles to evaluate on (repeatable; default: corpus/)."),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="Folder for results.jsonl and summary.json (default: eval-runs/<time>/)."),
    baseline: Optional[Path] = typer.Option(None, "--baseline", help="A previous summary.json (or its folder) to compare with."),
    tolerance: float = typer.Option(0.01, "--tolerance", min=0.0, help="How far a metric may drop below the baseline before the exit code is 1 (latency never fails)."),
    # Not BOT_STORE: an eval ingests its corpus, and must not add it to the store a user chats with.
    store: Optional[Path] = typer.Option(None, "--store", help="Store to evaluate on (default: data/eval-stores/<corpus>-<settings>/; BOT_STORE is not read)."),
    no_ingest: bool = typer.Option(False, "--no-ingest", help="Evaluate the store as it is (e.g. a shared read-only one)."),
    judge: bool = typer.Option(False, "--judge", help="Also LLM-judged correctness (needs a generator answerer)."),
    baselines: bool = typer.Option(False, "--baselines", help="Also retrieval metrics of BM25 alone and LlamaIndex's default dense retrieval."),
):
    """Run canned questions through the answer path; write results.jsonl, summary.json, print a table."""
    from bot.evaluation import EvalError, run_eval

    settings = settings_for(None)
    console.print(f"answerer: {settings.answerer}; embeddings: {settings.embed}", style="dim", highlight=False,
                  markup=False)
    try:
        run = run_eval(
            questions, corpus=list(corpus) if corpus else None, out=out_dir, baseline=baseline, tolerance=tolerance,
            settings=settings, store=store, judge=judge, baselines=baselines, ingest=not no_ingest,
            warn=lambda w: console.print(f"[yellow]warning:[/] {escape(w)}", highlight=False),
        )
    except EvalError as err:
        fail(str(err))
    except KeyboardInterrupt:  # not the ingest's message: an eval's results.jsonl is written as it goes
        fail("interrupted: the run's results.jsonl holds only the questions answered so far and no summary "
             "was written; run the eval again (a new --out) to finish", 130)
    out.print(run.table, highlight=False, markup=False)
    changed = (run.summary.get("baseline") or {}).get("changed")
    if changed is not None:
        out.print(f"\nquestions whose outcome changed against the baseline: {len(changed)}", highlight=False, markup=False)
        for line in changed[:SHOW_CHANGED]:
            out.print(f"  {line}", highlight=False, markup=False)
        if len(changed) > SHOW_CHANGED:
            out.print(f"  ... {len(changed) - SHOW_CHANGED} more in summary.json (baseline.changed)", highlight=False,
                      markup=False)
    console.print(f"store: {run.summary['run']['store']}; results: {run.out_dir}/", style="dim", highlight=False,
                  markup=False)
    if run.regressed:
        names = ", ".join(d.metric for d in run.regressed)
        fail(f"worse than the baseline by more than {tolerance}: {names}")


@app.command("calibrate")
@_friendly_errors
def calibrate_command(
    questions: List[Path] = typer.Argument(..., help="Labelled questions, JSONL with must_contain (one or more files)."),
    stores: List[Path] = typer.Option(None, "--store", help="The store each question file is asked on, in the same order (built by `bot eval` or `bot ingest`; default: BOT_STORE)."),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="Folder for answer-model.json and tradeoff.md (default: eval-runs/calibrate-<time>/)."),
):
    """Fit the answer model (which sentence answers, and whether any does) and print the gate's trade-off."""
    from datetime import datetime

    from rich.progress import track

    from bot.answer import QA
    from bot.calibrate import IN_SAMPLE, collect, curve_table, fit, tradeoff, write
    from bot.evaluation import EVAL_RUNS, read_questions

    stores = list(stores or [])
    if stores and len(stores) != len(questions):
        fail(f"give one --store per question file: {len(questions)} files, {len(stores)} stores")
    groups, per_file = [], []
    for n, path in enumerate(questions):
        settings = settings_for(stores[n] if stores else None)
        if not (settings.store / "docstore.json").exists():
            fail(f"no store at {settings.store}: build it first (bot eval {path} --corpus ARTICLES --store {settings.store})")
        qs, warnings = read_questions(path)
        for w in warnings:
            console.print(f"[yellow]warning:[/] {w}", highlight=False)
        qa = QA(settings)
        found = collect(qa, track(qs, description=f"features of {path.name}", console=console, transient=True),
                        warn=lambda w: console.print(f"warning: {w}", style="yellow", markup=False, highlight=False))
        per_file.append((path, found))
        groups += found
    if not any(g.y.any() for g in groups):
        fail("no answer sentence found in any question's candidates: the questions need must_contain patterns")
    model = fit(groups)
    tables = [(str(p), tradeoff(g, model)) for p, g in per_file]
    if len(per_file) > 1:
        tables.append(("all question files together", tradeoff(groups, model)))
    target = out_dir or EVAL_RUNS / datetime.now().strftime("calibrate-%Y%m%d-%H%M%S")
    path = write(model, tables, Path(target))
    for name, rows in tables:
        out.print(f"\n{name}\n\n{curve_table(rows)}", highlight=False, markup=False)
    out.print(f"\n{IN_SAMPLE}", highlight=False, markup=False)
    console.print(f"weights: {path} (use them with BOT_ANSWER_MODEL={path}; pick BOT_MIN_ANSWER_PROBABILITY from the table)",
                  style="dim", highlight=False)


@app.command("bench")
@_friendly_errors
def bench_command(
    corpus: Optional[Path] = typer.Option(None, "--corpus", help="Articles to ingest (default: corpus/)."),
    questions: Optional[Path] = typer.Option(None, "--questions", help="Questions for the latency runs (default: corpus/questions.jsonl)."),
    store: Optional[Path] = typer.Option(None, "--store", help="A new or empty folder for the fresh store (default: a temporary one)."),
    out_file: Optional[Path] = typer.Option(None, "--out", help="JSON file for the numbers (default: eval-runs/bench-<time>.json)."),
    embed_sample: int = typer.Option(0, "--embed-sample", min=0, help="Time the embedding model alone on the first N chunks (default: all)."),
    limit: int = typer.Option(0, "--limit", min=0, help="Time only the first N questions (default: all)."),
):
    """Ingest into a fresh store and measure speed: ingest, re-ingest, retrieval, answers, memory."""
    from bot.bench import BenchError, run_bench

    settings = settings_for(None)
    try:
        result = run_bench(settings, corpus=corpus, questions=questions, store=store, out=out_file,
                           embed_sample=embed_sample, limit=limit,
                           warn=lambda w: console.print(f"warning: {w}", style="yellow", markup=False, highlight=False))
    except BenchError as err:
        fail(str(err))
    out.print(result.table, highlight=False, markup=False)
    console.print(f"saved: {result.path}", style="dim", highlight=False)


class Terminated(KeyboardInterrupt):
    """SIGTERM (`kill`, a service manager), handled as Ctrl-C is: said, not a silent exit."""


def _terminated(signum, frame) -> None:
    raise Terminated()


def main() -> None:  # pragma: no cover - console entry point
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    signal.signal(signal.SIGTERM, _terminated)
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
