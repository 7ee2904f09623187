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


DEFAULT = AnswerModel(  # `bot calibrate` on rtqa-dev + corpus/questions.jsonl (DECISIONS.md 6)
    ranker={"dense": 2.549, "overlap": 1.829, "overlap_passage": -0.554, "anchors": 1.106,
        "new_value": 1.356, "typed_missing": -1.356, "new_name": 1.021, "novelty": -0.802,
        "article_rank": 1.548, "headline": -0.338, "lead": 0.612, "consensus": -0.438,
        "length": -0.816, "overlap_rare": 2.432, "quote_for_say": 0.783, "matched": 1.425,
        "typed_entity": 2.204},
    gate={"dense": 1.08, "overlap": 0.253, "overlap_passage": 0.137, "anchors": 0.337,
        "new_value": 0.169, "typed_missing": -2.319, "new_name": 0.433, "novelty": -0.427,
        "article_rank": 0.927, "headline": -0.411, "lead": 0.562, "consensus": 0.478, "length": 0.338,
        "overlap_rare": 2.455, "quote_for_say": 0.068, "matched": 0.404, "typed_entity": 0.598},
    gate_intercept=-5.267,
)
