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


DEFAULT = AnswerModel(  # `bot calibrate` on rtqa-dev + corpus/questions.jsonl at 19e4cb5 (DECISIONS.md 5)
    ranker={"dense": 2.476, "overlap": 2.144, "overlap_passage": -0.59, "anchors": 1.283, "new_value":
        1.484, "typed_missing": -1.484, "new_name": 1.203, "novelty": -0.549, "article_rank": 1.471,
        "headline": -0.284, "lead": 0.596, "consensus": -0.445, "length": -0.294, "overlap_rare": 2.464,
        "quote_for_say": 0.685, "matched": 1.814},
    gate={"dense": 1.241, "overlap": 0.345, "overlap_passage": 0.155, "anchors": 0.451, "new_value":
        0.306, "typed_missing": -2.329, "new_name": 0.579, "novelty": -0.214, "article_rank": 0.916,
        "headline": -0.347, "lead": 0.52, "consensus": 0.507, "length": 0.268, "overlap_rare": 2.455,
        "quote_for_say": -0.073, "matched": 0.615},
    gate_intercept=-5.72,
)
