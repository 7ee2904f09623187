"""Which retrieved sentence answers the question, and whether any does: two small linear models.

Written here (not a LlamaIndex reranker) because no cross-encoder ships its weights on PyPI for
offline use; a dozen inspectable weights over the features of `bot/sentence_features.py` do the job.
- RANKER orders the candidate sentences (fitted listwise: the answer sentence should come first).
- GATE is a logistic model: the chance that a sentence holds the answer. The evidence gate refuses
  when no sentence reaches `BOT_MIN_ANSWER_PROBABILITY`.
Both were fitted by `bot calibrate` on rtqa-dev and the seed questions together; DECISIONS.md has
the held-out numbers and the gate's trade-off curve. `bot calibrate` refits them for another corpus.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from bot.sentence_features import FEATURES, logistic


@dataclass
class AnswerModel:
    ranker: dict[str, float] = field(default_factory=dict)
    gate: dict[str, float] = field(default_factory=dict)
    gate_intercept: float = 0.0

    def rank_score(self, row: list[float]) -> float:
        return sum(self.ranker.get(name, 0.0) * value for name, value in zip(FEATURES, row))

    def probability(self, row: list[float]) -> float:
        z = self.gate_intercept + sum(self.gate.get(name, 0.0) * value for name, value in zip(FEATURES, row))
        return logistic(z)

    def to_json(self) -> dict:
        return {"ranker": self.ranker, "gate": self.gate, "gate_intercept": self.gate_intercept}

    @classmethod
    def load(cls, path: Path) -> "AnswerModel":
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        unknown = (set(data.get("ranker", {})) | set(data.get("gate", {}))) - set(FEATURES)
        if unknown:
            raise ValueError(f"{path}: unknown features {sorted(unknown)}; known: {', '.join(FEATURES)}")
        return cls(data.get("ranker", {}), data.get("gate", {}), float(data.get("gate_intercept", 0.0)))


DEFAULT = AnswerModel(  # `bot calibrate` on rtqa-dev + corpus/questions.jsonl (DECISIONS.md 8)
    ranker={
        "dense": 2.091, "overlap": 1.297, "overlap_passage": -0.721, "anchors": 1.007,
        "new_value": 1.283, "typed_missing": -1.283, "new_name": 0.97, "novelty": -0.382,
        "article_rank": 1.201, "headline": -0.294, "lead": 0.538, "consensus": -0.085,
        "length": -1.275, "overlap_rare": 1.961, "quote_for_say": 0.676, "matched": 1.024,
        "typed_entity": 2.347, "plain_overlap": 2.235},
    gate={
        "dense": 1.029, "overlap": 0.074, "overlap_passage": -0.079, "anchors": 0.35,
        "new_value": 0.219, "typed_missing": -2.401, "new_name": 0.374, "novelty": -0.717,
        "article_rank": 0.82, "headline": -0.339, "lead": 0.578, "consensus": 0.488, "length": 0.352,
        "overlap_rare": 1.855, "quote_for_say": 0.165, "matched": 0.405, "typed_entity": 0.69,
        "plain_overlap": 0.747},
    gate_intercept=-4.905,
)
