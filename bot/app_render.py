"""Safe rendering for the browser chat: article text is always shown as text, never as markup.

Every piece of article text goes through `html.escape` (for `st.html` / the article frame) or
`escape_markdown` (for chat text rendered by `st.write_stream` / `st.markdown`) before it reaches the
page; the only markup is what this module wraps around the escaped text (`<mark>`, classes).
"""

from __future__ import annotations

import html
import json
import re
import secrets
from pathlib import Path

# Every ASCII punctuation character may be backslash-escaped in CommonMark, which turns it into a literal.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=^&\"'/@%])")
_BLANK_LINES = re.compile(r"\n\s*\n\s*")
_SPACES = re.compile(r"[ \t\r\f\v]+")

PASSAGE_RADIUS = 260  # characters of context shown on each side of a cited sentence

STYLE = """
<style>
.bot-cite { margin: 0.1rem 0 0.2rem 0; }
.bot-cite-head { font-size: 0.92rem; line-height: 1.35; }
.bot-cite-n { display: inline-block; margin-right: 0.45em; font-weight: 600; color: #1f5fbf; }
.bot-cite-title { font-weight: 600; }
.bot-cite-meta { color: #6b7280; font-size: 0.84rem; }
.bot-passage { margin: 0.35rem 0 0 0; padding: 0.45rem 0.75rem; border-left: 3px solid #c7d2fe;
  background: rgba(148, 163, 184, 0.10); border-radius: 0 6px 6px 0; font-size: 0.9rem;
  line-height: 1.5; white-space: pre-wrap; overflow-wrap: anywhere; }
.bot-passage mark { background: #fde68a; color: #111827; padding: 0 2px; border-radius: 3px; }
.bot-closest .bot-passage { border-left-color: #d1d5db; }
.bot-closest .bot-passage mark { background: #e5e7eb; }
.bot-not-answer { display: inline-block; font-size: 0.75rem; font-weight: 600; letter-spacing: 0.02em;
  text-transform: uppercase; color: #92400e; background: #fef3c7; border-radius: 4px; padding: 0 6px;
  margin-left: 0.4rem; }
</style>
"""


def escape_markdown(text: str) -> str:
    """Text that Streamlit's markdown shows literally: no links, images, HTML, math or emphasis."""
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\n", "  \n")


def _tidy(text: str) -> str:
    return _SPACES.sub(" ", _BLANK_LINES.sub("\n", text))


def passage_window(text: str, start: int, end: int, radius: int = PASSAGE_RADIUS) -> tuple[str, str, str]:
    """(before, sentence, after) around text[start:end]; before/after start/end with '…' when cut."""
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    lo, hi = max(0, start - radius), min(len(text), end + radius)
    if lo > 0:  # do not cut a word in half
        space = text.find(" ", lo, start)
        lo = space + 1 if space != -1 else lo
    if hi < len(text):
        space = text.rfind(" ", end, hi)
        hi = space if space != -1 else hi
    before = ("…" if lo > 0 else "") + text[lo:start]
    after = text[end:hi] + ("…" if hi < len(text) else "")
    return before, text[start:end], after


def _meta_line(citation) -> str:
    parts = [citation.date or "no date", citation.source]
    return " · ".join(html.escape(p) for p in parts if p)


def citation_html(citation, article_text: str | None, *, closest: bool = False) -> str:
    """One source: number, title, date, source, and the passage with the cited sentence in <mark>."""
    if article_text and article_text[citation.start : citation.end].strip():
        before, hit, after = passage_window(article_text, citation.start, citation.end)
    else:  # the article is no longer in the store: show the quote alone
        before, hit, after = "", citation.quote, ""
    passage = f"{html.escape(_tidy(before))}<mark>{html.escape(_tidy(hit))}</mark>{html.escape(_tidy(after))}"
    title = html.escape(citation.title or citation.source or "untitled")
    label = "" if closest else f'<span class="bot-cite-n">[{citation.n}]</span>'
    not_answer = '<span class="bot-not-answer">not an answer</span>' if closest else ""
    css = "bot-cite bot-closest" if closest else "bot-cite"
    return (
        f'<div class="{css}"><div class="bot-cite-head">{label}'
        f'<span class="bot-cite-title">{title}</span>{not_answer}<br>'
        f'<span class="bot-cite-meta">{_meta_line(citation)}</span></div>'
        f'<div class="bot-passage">{passage}</div></div>'
    )


def article_page(title: str, meta: str, text: str, start: int, end: int) -> str:
    """A small HTML document with the whole article, the sentence marked, and a script that scrolls to it.

    Shown in an iframe. The article text is escaped, and a Content-Security-Policy lets only this
    page's own script (by nonce) run, so nothing inside an article can execute even if it slipped past.
    """
    nonce = secrets.token_urlsafe(16)
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    body = (
        f"{html.escape(text[:start])}<mark id=\"hit\">{html.escape(text[start:end])}</mark>"
        f"{html.escape(text[end:])}"
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'">
<style>
  html, body {{ margin: 0; background: #ffffff; color: #1f2937; }}
  body {{ font-family: "Source Sans Pro", "Source Sans 3", system-ui, sans-serif; font-size: 16px;
         line-height: 1.6; padding: 0.5rem 1rem 40vh 0.5rem; }}
  h1 {{ font-size: 1.25rem; margin: 0.2rem 0 0.1rem 0; }}
  .meta {{ color: #6b7280; font-size: 0.85rem; margin-bottom: 0.8rem; }}
  .text {{ white-space: pre-wrap; overflow-wrap: anywhere; }}
  mark {{ background: #fde68a; color: #111827; padding: 1px 2px; border-radius: 3px;
          box-shadow: 0 0 0 2px #f59e0b; }}
</style></head>
<body><h1>{html.escape(title)}</h1><div class="meta">{html.escape(meta)}</div>
<div class="text">{body}</div>
<script nonce="{nonce}">
  const hit = document.getElementById("hit");
  function show() {{
    const top = hit.getBoundingClientRect().top + window.scrollY - window.innerHeight / 3;
    window.scrollTo(0, Math.max(0, top));
  }}
  if (hit) {{ show(); window.addEventListener("load", show); }}
</script></body></html>"""


def example_questions(corpus: Path, known_ids: set[str], limit: int = 8) -> list[str]:
    """Candidate example questions: answerable, single-turn questions from the corpus's questions.jsonl
    whose source articles are in the store (the caller keeps the ones the bot actually answers)."""
    path = Path(corpus) / "questions.jsonl"
    found: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return found
    for line in lines:
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(item, dict) or not item.get("answerable") or item.get("history"):
            continue
        question, sources = item.get("question"), item.get("sources") or []
        if not isinstance(question, str) or len(question) > 70 or not sources:
            continue
        if all(s in known_ids for s in sources):
            found.append(question)
        if len(found) >= limit:
            break
    return found
