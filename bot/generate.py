"""The generator answerer: a language model writes the answer from numbered passages; only verified
sentences are ever shown.

1. Pack: the retrieved passages, numbered, go into `prompts/qa_with_citations.txt` as long as they fit
   the context window (minus the reply's tokens). A passage that does not fit whole keeps its leading
   whole sentences; later passages are left out. Both are said in Answer.notes; nothing is cut
   mid-sentence. If not even one sentence fits, a ModelConfigError says to raise the context window.
2. Generate: tokens stream from the model (OpenAI, an OpenAI-compatible server, or a GGUF in-process).
3. Verify while streaming: tokens are buffered until a sentence is complete; the sentence goes through
   bot.verify.Verifier against the passages; it is shown only if its cited passage supports it.
   Dropped sentences are listed in Answer.notes. If the model answers with the refusal sentence, or
   nothing survives verification, the answer is the refusal.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator, Sequence

from bot.answer_types import Answer, Citation
from bot.config import Settings
from bot.evidence import Passage
from bot.models import (
    SMALL_MODEL_WARNING,
    SERVER_ANSWERERS,
    ModelConfigError,
    describe_answerer,
    empty_reply,
    generation_lock,
    make_llm,
    model_server_url,
    translate,
)
from bot.prompts import load_prompt
from bot.text import content_terms, split_sentences
from bot.verify import Verifier, repeats

SERVER_TOKEN_MARGIN = 1.25  # servers' tokenizers are unknown here: count with tiktoken, plus a margin
PROMPT_SLACK = 16  # tokens kept free for chat-template wrapping
_MARKER = re.compile(r"\[(\d+)\]")
# "... sentence. [1]" -> "... sentence [1]." (same length), so a marker stays with its sentence.
_MARKER_AFTER_STOP = re.compile(r"([.!?])([ \t]*)((?:\[\d+\])+)")
_LETTERS = re.compile(r"[A-Za-z]{2}")


# --------------------------------------------------------------------------- packing
@dataclass
class Packed:
    passages: list[Passage]
    context: str
    notes: list[str] = field(default_factory=list)


def passage_header(n: int, p: Passage) -> str:
    # Only the number: small models copy anything else (titles, dates) into their answer.
    return f"[{n}] "


def pack_passages(
    passages: Sequence[Passage], budget: int, count: Callable[[str], int], window: int
) -> Packed:
    """Number the passages and keep what fits in `budget` tokens, cutting only between sentences."""
    kept: list[Passage] = []
    pieces: list[str] = []
    notes: list[str] = []
    used = 0
    for i, p in enumerate(passages):
        n = len(kept) + 1
        header = passage_header(n, p)
        piece = header + " ".join(p.text.split())
        cost = count(piece + "\n\n")
        if used + cost <= budget:
            kept.append(replace(p, rank=n))
            pieces.append(piece)
            used += cost
            continue
        # Not whole: keep its leading whole sentences, then stop.
        sentences = split_sentences(p.text, offset=p.start)
        fit = 0
        for j in range(len(sentences), 0, -1):
            text = p.text[: sentences[j - 1].end - p.start]
            if used + count(header + " ".join(text.split()) + "\n\n") <= budget:
                fit = j
                break
        if fit:
            text = p.text[: sentences[fit - 1].end - p.start]
            kept.append(replace(p, rank=n, text=text))
            pieces.append(header + " ".join(text.split()))
            notes.append(
                f"passage {n} was shortened to its first {fit} of {len(sentences)} sentences to fit the "
                f"model's context window ({window} tokens)"
            )
        left = len(passages) - i - (1 if fit else 0)
        if left:
            notes.append(
                f"{left} of {len(passages)} retrieved passages were left out to fit the model's context "
                f"window ({window} tokens); raise BOT_LLM_CONTEXT_WINDOW if the model allows more"
            )
        break
    if not kept:
        raise ModelConfigError(
            f"the model's context window ({window} tokens, BOT_LLM_CONTEXT_WINDOW) is too small: after the "
            f"prompt and the {budget if budget > 0 else 0}-token room left for passages, not even one "
            "sentence of a passage fits. Raise BOT_LLM_CONTEXT_WINDOW (to what the model supports) or lower "
            "BOT_LLM_MAX_TOKENS"
        )
    return Packed(kept, "\n\n".join(pieces), notes)


# --------------------------------------------------------------------------- streaming verification
# The prompt's labels (prompts/qa_with_citations.txt), which a small model may write before its answer.
_PROMPT_LABEL = re.compile(r"^\s*(?:passages?(?:\s+\d+)?|question|answer)\s*:\s*", re.I)


def _normalise(text: str) -> str:
    return _MARKER_AFTER_STOP.sub(lambda m: f"{m.group(2)}{m.group(3)}{m.group(1)}", text)


def _plain(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").replace("do not", "don't").split())


class VerifiedStream:
    """Feed model text in; get back only sentences the verifier accepts, numbered across the answer."""

    def __init__(self, verifier: Verifier, passages: list[Passage], refusal: str, question: str = "",
                 prompt: str = "") -> None:
        """`question`: what the answer answers (a short sentence is checked with it); `prompt`: the
        prompt's own text without the passages, which a small model may echo."""
        self.verifier, self.passages, self.question = verifier, passages, question
        self.prompt_said = _plain(prompt)
        self.refusal_marks = [_plain(refusal.split(":")[0]), _plain(refusal)]
        self.buffer = ""
        self.pos = 0  # everything before this offset (in the normalised buffer) is handled
        self.shown: list[str] = []
        self.citations: list[Citation] = []
        self._numbers: dict[tuple[str, int, int], int] = {}
        self.dropped: list[str] = []
        self.off_question: list[str] = []
        self.fixed: list[str] = []
        self.said_refusal = False
        self.cut = ""  # an unfinished last sentence, left out

    def feed(self, delta: str) -> list[str]:
        self.buffer += delta
        norm = _normalise(self.buffer)
        spans = split_sentences(norm[self.pos :], offset=self.pos)
        # The last sentence may still grow; earlier ones are complete once the next one has words.
        if len(spans) < 2 or not _LETTERS.search(_MARKER.sub("", spans[-1].text)):
            return []
        out = [piece for s in spans[:-1] if (piece := self._take(s.text))]
        self.pos = spans[-1].start
        return out

    def finish(self, cut_off: bool = False) -> list[str]:
        """The rest; with `cut_off` (the reply hit the token limit) an unfinished last sentence is dropped."""
        norm = _normalise(self.buffer)
        spans = split_sentences(norm[self.pos :])
        if cut_off and spans and not re.search(r"[.!?][\"'”’)\]]*$", spans[-1].text):
            self.cut = _MARKER.sub("", spans[-1].text).strip()
            spans = spans[:-1]
        out = [piece for s in spans if (piece := self._take(s.text))]
        self.pos = len(norm)
        return out

    def _is_refusal(self, sentence: str) -> bool:
        plain = _plain(_MARKER.sub("", sentence))
        return any(mark and mark in plain for mark in self.refusal_marks) or (
            len(plain) > 20 and plain in self.refusal_marks[1]
        )

    def _take(self, sentence: str) -> str | None:
        sentence = _PROMPT_LABEL.sub("", sentence)  # "Passages: CNN — Competitive eater..." is the quote
        if not content_terms(_MARKER.sub("", sentence)):
            return None
        if self._is_refusal(sentence):
            self.said_refusal = True
            return None
        plain = _plain(_MARKER.sub("", sentence))
        if len(plain) > 15 and plain in self.prompt_said:  # the prompt's rules echoed: not an answer, no note
            return None
        if repeats(_MARKER.sub("", sentence), [_MARKER.sub("", s) for s in self.shown]):
            return None
        verified = self.verifier.verify(sentence, self.passages, self.question)
        self.fixed.extend(verified.fixed)
        self.off_question.extend(verified.off_question)
        if verified.off_question:
            return None
        if not verified.citations:
            self.dropped.extend(verified.dropped or [_MARKER.sub("", sentence).strip()])
            return None
        local: dict[int, int] = {}
        for c in verified.citations:
            key = (c.doc_id, c.start, c.end)
            if key not in self._numbers:
                self._numbers[key] = len(self.citations) + 1
                self.citations.append(replace(c, n=self._numbers[key]))
            local[c.n] = self._numbers[key]
        text = _MARKER.sub(lambda m: f"[{local.get(int(m.group(1)), m.group(1))}]", verified.text)
        text = _normalise(text)  # "... nation [1]." not "... nation. [1]": the marker stays in its sentence
        self.shown.append(text)
        return text if len(self.shown) == 1 else " " + text


# --------------------------------------------------------------------------- the answerer
def _is_chat(llm) -> bool:
    try:
        return bool(llm.metadata.is_chat_model)
    except Exception:  # LlamaIndex's OpenAI raises for names it does not know; those are chat models
        return True


class Generator:
    """One configured LLM plus the verifier; built once per QA and shared."""

    def __init__(self, settings: Settings, embed_model, llm=None) -> None:
        self.settings = settings
        self.llm = llm if llm is not None else make_llm(settings)
        self.verifier = Verifier(embed_model)
        self.template = load_prompt("qa_with_citations")
        self.refusal = load_prompt("refusal")
        self.label = describe_answerer(settings)
        self._count = self._token_counter()

    def _token_counter(self) -> Callable[[str], int]:
        model = getattr(self.llm, "_model", None)
        if model is not None and hasattr(model, "tokenize"):  # in-process llama.cpp: its own tokenizer
            return lambda text: len(model.tokenize(text.encode("utf-8"), add_bos=False, special=False))
        from llama_index.core.utils import get_tokenizer

        tokenizer = get_tokenizer()
        return lambda text: int(len(tokenizer(text)) * SERVER_TOKEN_MARGIN) + 1

    def prompt(self, question: str, context: str) -> str:
        return self.template.format(refusal=self.refusal, context=context, question=question)

    def pack(self, question: str, passages: Sequence[Passage]) -> Packed:
        window = self.settings.llm_context_window
        fixed = self._count(self.prompt(question, ""))
        budget = window - self.settings.llm_max_tokens - fixed - PROMPT_SLACK
        return pack_passages(passages, budget, self._count, window)

    def tokens(self, prompt: str) -> Iterator[str]:
        """The model's reply, piece by piece; server failures become ModelServerErrors."""
        lock = generation_lock(self.llm)
        if lock is not None:
            lock.acquire()
        try:
            if _is_chat(self.llm):
                from llama_index.core.llms import ChatMessage

                stream = self.llm.stream_chat([ChatMessage(role="user", content=prompt)])
            else:
                stream = self.llm.stream_complete(prompt)
            completion = False
            for chunk in stream:
                completion = completion or bool(getattr(chunk.raw, "choices", None))
                if chunk.delta:
                    yield chunk.delta
            # A server's 200 with no chat completion in it (an empty body, some other JSON) streams
            # nothing: that is a broken server, not a model that had nothing to say.
            if not completion and self.settings.answerer in SERVER_ANSWERERS:
                raise empty_reply(model_server_url(self.settings))
        except ModelConfigError:
            raise
        except Exception as err:
            translated = translate(err, self.settings)
            if translated is err:
                if "context window" in str(err) or "exceed context" in str(err):
                    raise ModelConfigError(
                        f"the prompt does not fit the model's context window: {err}; lower "
                        "BOT_LLM_MAX_TOKENS or raise BOT_LLM_CONTEXT_WINDOW"
                    ) from None
                raise
            raise translated from None
        finally:
            if lock is not None:
                lock.release()

    def run(
        self, question: str, passages: Sequence[Passage], answer: Answer,
        closest: Callable[[], list[Citation]],
    ) -> Iterator[str]:
        """Yield verified answer pieces; fill in `answer` (text, citations, refusal, notes, answerer)."""
        packed = self.pack(question, passages)
        answer.answerer = self.label
        stream = VerifiedStream(self.verifier, packed.passages, self.refusal, question, self.prompt(question, ""))
        pieces = 0
        for delta in self.tokens(self.prompt(question, packed.context)):
            pieces += 1
            yield from stream.feed(delta)
        yield from stream.finish(cut_off=pieces >= self.settings.llm_max_tokens)

        notes = list(packed.notes)
        if self.settings.answerer == "gguf" and self.settings.gguf_path is None:
            notes.append(SMALL_MODEL_WARNING)
        notes += [f"dropped (not supported by the passages): \"{s}\"" for s in stream.dropped]
        notes += [f"dropped (not about the question): \"{s}\"" for s in stream.off_question]
        notes += stream.fixed
        if stream.cut:
            notes.append(f"dropped an unfinished sentence cut off at BOT_LLM_MAX_TOKENS: \"{stream.cut}\"")
        if stream.said_refusal and stream.shown:
            notes.append("the model also said the articles don't say; only its verified sentences are shown")
        answer.notes.extend(dict.fromkeys(notes))  # a looping model repeats its dropped sentences
        if stream.shown:
            answer.text = " ".join(stream.shown)
            answer.citations = stream.citations
            return
        answer.refused = True
        answer.text = self.refusal
        answer.closest = closest()
        if stream.said_refusal:
            answer.notes.append("the model said the articles don't say")
        else:
            answer.notes.append("no sentence of the model's answer was supported by the passages")
        yield answer.text


_create_lock = threading.Lock()


def generator_for(qa) -> Generator:
    """The Generator of this QA, built on first use."""
    with _create_lock:
        gen = getattr(qa, "_generator", None)
        if gen is None:
            gen = Generator(qa.settings, qa.embed_model)
            qa._generator = gen
        return gen


def generate(qa, question: str, passages: Sequence[Passage], answer: Answer, scored) -> Iterator[str]:
    """The QA.stream hook: answer with the configured generator (after the evidence gate passed)."""
    yield from generator_for(qa).run(question, passages, answer, lambda: qa._closest(scored, list(passages)))


def condense_query(qa, question: str, history, fallback: str) -> str:
    """LlamaIndex's condense step (what CondenseQuestionChatEngine does before retrieving): the LLM
    rewrites a follow-up as a standalone question, with prompts/condense_question.txt. Falls back to
    `fallback` when the model returns nothing usable."""
    from llama_index.core.base.llms.generic_utils import messages_to_history_str
    from llama_index.core.llms import ChatMessage, MessageRole
    from llama_index.core.prompts import PromptTemplate

    messages = []
    for q, a in list(history)[-3:]:
        messages.append(ChatMessage(role=MessageRole.USER, content=q))
        messages.append(ChatMessage(role=MessageRole.ASSISTANT, content=_MARKER.sub("", a)))
    gen = generator_for(qa)
    prompt = PromptTemplate(load_prompt("condense_question"))
    lock = generation_lock(gen.llm)
    if lock is not None:
        lock.acquire()
    try:
        text = gen.llm.predict(prompt, question=question, chat_history=messages_to_history_str(messages))
    except ModelConfigError:
        raise
    except Exception as err:
        translated = translate(err, qa.settings)
        if translated is err:
            raise
        raise translated from None
    finally:
        if lock is not None:
            lock.release()
    lines = [line.strip().strip('"').strip() for line in (text or "").splitlines() if line.strip()]
    condensed = lines[0][:400] if lines else ""
    # A small model may return noise ("[User 0003]"): use the rewrite only if it names something from
    # the conversation, else the word-folding fallback.
    said = set(content_terms(question + " " + " ".join(f"{q} {a}" for q, a in history)))
    if not set(content_terms(condensed)) & said:
        return fallback
    return condensed
