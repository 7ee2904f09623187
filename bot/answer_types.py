"""What an answer is: text with [n] markers, the citations behind them, and how it was made."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from bot.evidence import Passage, Sentence


class QuestionError(ValueError):
    """The question cannot be asked as given; the message says why."""


@dataclass
class Citation:
    n: int
    source: str
    title: str
    date: str
    quote: str
    start: int
    end: int
    score: float
    url: str = ""
    doc_id: str = ""

    @classmethod
    def from_sentence(cls, n: int, sentence: Sentence, end: int | None = None, quote: str | None = None) -> "Citation":
        return cls.from_passage(n, sentence.passage, sentence.span.start, end or sentence.span.end,
                                quote or sentence.text, sentence.score)

    @classmethod
    def from_passage(cls, n: int, passage: Passage, start: int, end: int, quote: str, score: float) -> "Citation":
        meta = passage.metadata
        return cls(
            n=n, source=passage.source, title=meta.get("title", ""), date=meta.get("date", ""),
            quote=quote, start=start, end=end, score=round(float(score), 4), url=meta.get("url", ""),
            doc_id=passage.doc_id,
        )

    def public(self) -> dict:
        """The fields of the scripting contract (`bot ask --json`)."""
        d = asdict(self)
        return {k: d[k] for k in ("n", "source", "title", "date", "quote", "start", "end", "score", "url")}


@dataclass
class Answer:
    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    refused: bool = False
    closest: list[Citation] = field(default_factory=list)  # shown with a refusal, never as an answer
    retrieved: list[str] = field(default_factory=list)  # article sources in rank order
    timings: dict = field(default_factory=dict)
    answerer: str = "extractive"
    query: str = ""  # the retrieval query after folding in the conversation
    notes: list[str] = field(default_factory=list)  # e.g. dropped unsupported sentences
    corrections: dict[str, str] = field(default_factory=dict)  # misspelt question word -> the articles' word

    def to_json(self) -> dict:
        return {
            "answer": self.text,
            "refused": self.refused,
            "citations": [c.public() for c in self.citations],
            "closest": [c.public() for c in self.closest],
            "retrieved": self.retrieved,
            "answerer": self.answerer,
            "query": self.query,
            "notes": self.notes,
            "corrections": self.corrections,
            "timings": self.timings,
        }
