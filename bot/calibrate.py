"""`bot calibrate`: fit the answer model's weights on labelled questions and print the gate's trade-off.

For every question the answer path's own candidates and features are taken (`QA.evidence`); a
sentence is a positive when a `must_contain` pattern matches it. The ranker is fitted listwise (the
answer sentence should come first among its question's candidates), the gate as a logistic model
over all sentences, unanswerable questions' sentences being negatives. Written with numpy (not a
library trainer) because these are two small convex fits over a few thousand rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.answer_model import AnswerModel
from bot.metrics import answer_matches
from bot.sentence_features import FEATURES

THRESHOLDS = (0.05, 0.1, 0.15, 0.18, 0.2, 0.22, 0.23, 0.25, 0.3, 0.35, 0.4, 0.5)


@dataclass
class Group:
    """One question's candidate sentences: features, labels, and the answer's length in sentences."""

    question_id: str
    answerable: bool
    X: np.ndarray
    y: np.ndarray


def collect(qa, questions, progress=None, warn=print) -> list[Group]:
    """Each question's candidate sentences with their features and whether they hold the answer; a
    question the bot would not take ("Where was it?" without its history, one over the length limit)
    is skipped with a warning naming it, as `bot eval` skips it."""
    from bot.answer import check_question
    from bot.answer_types import QuestionError
    from bot.evaluation import as_of

    groups = []
    for q in questions:
        if q.answerable and not q.must_contain:
            continue  # no way to tell an answer sentence
        try:
            question = check_question(q.question, qa.settings.max_question_chars, follow_up=bool(q.history))
        except QuestionError as err:
            warn(f"{q.id}: skipped, {err}")
            continue
        ev = qa.evidence(question, q.history, **as_of(q))
        rows = [s for s in ev.scored if s.features]
        X = np.array([s.features for s in rows], dtype=float).reshape(len(rows), len(FEATURES))
        y = np.array([1.0 if q.answerable and answer_matches(s.text, q.must_contain) else 0.0 for s in rows])
        groups.append(Group(q.id, q.answerable, X, y))
        if progress:
            progress()
    return groups


def fit_ranker(groups: list[Group], l2: float = 0.005, steps: int = 300, rate: float = 0.05) -> np.ndarray:
    """Softmax over each question's candidates, maximising the share on answer sentences (Adam)."""
    usable = [g for g in groups if g.y.any()]
    w = np.zeros(len(FEATURES))
    m, v = np.zeros_like(w), np.zeros_like(w)
    for t in range(1, steps + 1):
        grad = l2 * w
        for g in usable:
            z = g.X @ w
            p = np.exp(z - z.max())
            p /= p.sum()
            target = p * g.y
            target /= target.sum()
            grad += g.X.T @ (p - target) / len(usable)
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad * grad
        w -= rate * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return w


def fit_gate(groups: list[Group], l2: float = 1.0, steps: int = 50) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton steps; returns (weights, intercept)."""
    X = np.vstack([g.X for g in groups if len(g.X)])
    y = np.concatenate([g.y for g in groups if len(g.X)])
    Xb = np.hstack([X, np.ones((len(X), 1))])
    w = np.zeros(Xb.shape[1])
    penalty = np.r_[np.full(len(FEATURES), l2), 0.0]
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(Xb @ w, -30, 30)))
        grad = Xb.T @ (p - y) + penalty * w
        hess = (Xb * (p * (1 - p))[:, None]).T @ Xb + np.diag(penalty)
        w -= np.linalg.solve(hess, grad)
    return w[:-1], float(w[-1])


def fit(groups: list[Group]) -> AnswerModel:
    ranker = fit_ranker(groups)
    gate, intercept = fit_gate(groups)
    return AnswerModel(
        ranker={n: round(float(x), 3) for n, x in zip(FEATURES, ranker)},
        gate={n: round(float(x), 3) for n, x in zip(FEATURES, gate)},
        gate_intercept=round(intercept, 3),
    )


def tradeoff(groups: list[Group], model: AnswerModel, sentences: int = 2) -> list[dict]:
    """For each gate threshold: refusals of unanswerable questions, refusals of answerable ones, and
    the share of answerable questions whose answer (best-ranked sentence plus the next ones that clear
    the bar, as the answerer picks them) holds the reference."""
    rows = []
    for t in THRESHOLDS:
        refused_un = refused_ans = correct = n_un = n_ans = 0
        for g in groups:
            probs = [model.probability(list(x)) for x in g.X]
            refused = not probs or max(probs) < t
            if g.answerable:
                n_ans += 1
                refused_ans += refused
                if not refused:
                    order = np.argsort([-model.rank_score(list(x)) for x in g.X], kind="stable")
                    chosen = [order[0]] + [i for i in order[1:] if probs[i] >= t][: sentences - 1]
                    correct += bool(g.y[chosen].any())
            else:
                n_un += 1
                refused_un += refused
        rows.append({
            "threshold": t,
            "refusal_rate": refused_un / n_un if n_un else None,
            "false_refusal_rate": refused_ans / n_ans if n_ans else None,
            "accuracy": correct / n_ans if n_ans else None,
        })
    return rows


IN_SAMPLE = ("Measured on the same questions the weights were fitted on (in sample): `bot eval` with these "
             "weights on other questions will refuse and answer somewhat worse than the table says.")


def curve_table(rows: list[dict]) -> str:
    fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
    lines = ["| gate threshold | refusal (unanswerable) | false refusal (answerable) | accuracy |", "|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['threshold']:.2f} | {fmt(r['refusal_rate'])} | {fmt(r['false_refusal_rate'])} | {fmt(r['accuracy'])} |")
    return "\n".join(lines)


def write(model: AnswerModel, tables: list[tuple[str, list[dict]]], out_dir: Path) -> Path:
    """answer-model.json (for BOT_ANSWER_MODEL) and tradeoff.md (one curve per question file)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "answer-model.json"
    path.write_text(json.dumps(model.to_json(), indent=2) + "\n", encoding="utf-8")
    text = "\n\n".join(f"{name}\n\n{curve_table(rows)}" for name, rows in tables)
    text += "\n\n" + IN_SAMPLE
    (out_dir / "tradeoff.md").write_text(text + "\n", encoding="utf-8")
    return path
