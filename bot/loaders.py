"""Read article files into LlamaIndex Documents with clean metadata.

Written here rather than with SimpleDirectoryReader because the metadata rules (headline first line,
`date YYYY-MM-DD` prefixes, datelines, JSONL dumps with per-line errors) are specific to news dumps.
A problem with one file or record is reported and never stops the others.
"""

from __future__ import annotations

import codecs
import json
import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Iterator

import yaml
from llama_index.core import Document

ARTICLE_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm"}
DUMP_SUFFIXES = {".jsonl", ".json"}
SUPPORTED_SUFFIXES = ARTICLE_SUFFIXES | DUMP_SUFFIXES
TITLE_CHARS = 80  # longest title made from an untitled record's first sentence
QUESTION_FILE = "a question file, not articles"  # how a skipped questions.jsonl is reported

# Metadata kept out of the embedded text; the title is kept in, it helps retrieval.
HIDDEN_FROM_EMBEDDING = ["source", "date", "url", "authors", "path", "origin", "date_from"]

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
            ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
            ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for m in names
}
_DATE_PREFIX = re.compile(r"^\s*date\s+(\d{4}-\d{2}-\d{2})\b")
# No \b at the end: "2018-02-01T10:00:00Z" (ISO date-time) must match too.
_ISO_DATE = re.compile(r"\b(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?!\d)")
_WRITTEN_DATE = re.compile(
    r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+(\d{1,2}),?\s+(\d{4})\b"
)
# " ?": a UTF-8 byte-order mark is read as one space (see _read_text).
_FRONT_MATTER = re.compile(r"^ ?---\s*\n(.*?)\n---\s*\n", re.DOTALL)


@dataclass
class LoadResult:
    documents: list[Document] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    # Files and folders that exist but could not be read (all or in part): what the store holds
    # from them is kept, not deleted as if they were gone.
    unreadable: list[str] = field(default_factory=list)

    def cannot_read(self, path: object, problem: str) -> None:
        self.unreadable.append(str(path))
        self.problems.append(problem)


def parse_date(value: object) -> str | None:
    """An ISO date (YYYY-MM-DD) from a date-like value, or None."""
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()[:10]
    text = str(value).strip()
    match = _ISO_DATE.search(text)
    if match:
        y, m, d = (int(g) for g in match.groups())
        return _valid(y, m, d)
    match = _WRITTEN_DATE.search(text)
    if match:
        month = _MONTHS.get(match.group(1).lower())
        return _valid(int(match.group(3)), month or 0, int(match.group(2)))
    return None


def _valid(y: int, m: int, d: int) -> str | None:
    try:
        return date(y, m, d).isoformat()
    except ValueError:
        return None


def _headline(text: str) -> str | None:
    """The first line, when it reads like a headline (short, no closing period)."""
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if len(line) <= 150 and not line.endswith((".", "?", "!", ":", '"', "”")) and len(line.split()) >= 2:
            return line
        return None
    return None


def _title_from_text(text: str) -> str:
    """A title for a record that has none: its first sentence, cut between words when it is long
    (a dump's id, e.g. 'c50d793ed670', says nothing to a reader)."""
    from bot.text import split_sentences

    first = " ".join(split_sentences(text.strip()[:1000])[0].text.split()).rstrip(".")
    if len(first) <= TITLE_CHARS:
        return first
    return first[: TITLE_CHARS + 1].rsplit(" ", 1)[0] + "…"


def _title_from_name(source: str) -> str:
    stem = Path(source).stem if "/" in source or "." in source else source
    return re.sub(r"[-_]+", " ", stem).strip().capitalize() or source


def _dateline_date(text: str) -> str | None:
    """A date written near the start of the text (a dateline), if any."""
    return parse_date(text[:300])


def _make_document(
    text: str, *, source: str, origin: str, path: str, title: str | None, date_value: str | None,
    date_from: str, url: str | None = None, authors: list[str] | None = None, embed_title: bool = True,
) -> Document:
    """`embed_title=False`: the title is the text's own first sentence, so embedding it again with every
    chunk adds nothing but weight on the lead (rtqa-dev, fresh ingests: accuracy 0.657 embedded, 0.667
    not; Hits@1 0.828 both; DECISIONS.md 8)."""
    hidden = list(HIDDEN_FROM_EMBEDDING) + ([] if embed_title else ["title"])
    metadata = {
        "title": title or _title_from_name(source),
        "source": source,
        "date": date_value or "",
        "date_from": date_from if date_value else "",
        "url": url or "",
        "authors": ", ".join(a for a in (authors or []) if a),
        "path": path,
        "origin": origin,
    }
    return Document(
        text=text,
        id_=source,
        metadata=metadata,
        excluded_embed_metadata_keys=hidden,
        excluded_llm_metadata_keys=list(HIDDEN_FROM_EMBEDDING),
    )


def _read_text(path: Path, max_bytes: int) -> str:
    size = path.stat().st_size
    if size == 0:
        raise ValueError("the file is empty")
    if size > max_bytes:
        raise ValueError(
            f"the file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:g} MB limit (BOT_MAX_FILE_MB)"
        )
    raw = path.read_bytes()
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # "Unicode" text from Windows editors
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError:
            raise ValueError("it starts like UTF-16 text but does not decode as UTF-16; save it as UTF-8") from None
        if not text.strip():
            raise ValueError("the file has only white space")
        return text
    if b"\x00" in raw[:8192]:
        raise ValueError("it looks binary (it has NUL bytes), not a text article")
    try:
        # A byte-order mark becomes a space (not dropped) so offsets match the file read as UTF-8.
        text = raw.decode("utf-8").replace("\ufeff", " ", 1) if raw.startswith(codecs.BOM_UTF8) else raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(
            f"it is not UTF-8 text (byte 0x{raw[err.start]:02x} at offset {err.start}); save it as UTF-8"
        ) from None
    if not text.strip():
        raise ValueError("the file has only white space")
    return text


def load_text_article(path: Path, source: str, origin: str, max_bytes: int) -> Document:
    text = _read_text(path, max_bytes)
    date_value, date_from = None, "dateline"
    prefix = _DATE_PREFIX.match(text)
    if prefix:
        date_value, date_from = prefix.group(1), "prefix"
        # Blank the prefix out (same length) so it is not quoted, and offsets still match the file.
        text = " " * prefix.end() + text[prefix.end():]
    else:
        date_value = _dateline_date(text)
    return _make_document(
        text, source=source, origin=origin, path=str(path), title=_headline(text),
        date_value=date_value, date_from=date_from,
    )


def load_markdown_article(path: Path, source: str, origin: str, max_bytes: int) -> Document:
    text = _read_text(path, max_bytes)
    meta: dict = {}
    match = _FRONT_MATTER.match(text)
    if match:
        try:
            meta = yaml.safe_load(match.group(1)) or {}
        except yaml.YAMLError as err:
            raise ValueError(f"its YAML front matter does not parse: {err}") from None
        if not isinstance(meta, dict):
            meta = {}
        # Blank the front matter out so offsets still match the file.
        text = re.sub(r"[^\n]", " ", text[: match.end()]) + text[match.end():]
    if not text.strip():
        raise ValueError("it has front matter but no article text")
    title = meta.get("title") or _headline(text.lstrip().lstrip("#").strip())
    date_value = parse_date(meta.get("date") or meta.get("published"))
    authors = meta.get("authors") or ([meta["author"]] if meta.get("author") else [])
    return _make_document(
        text, source=source, origin=origin, path=str(path), title=str(title) if title else None,
        date_value=date_value or _dateline_date(text), date_from="front matter" if date_value else "dateline",
        url=meta.get("url"), authors=[str(a) for a in authors] if isinstance(authors, list) else [str(authors)],
    )


def load_html_article(path: Path, source: str, origin: str, max_bytes: int) -> Document:
    from bs4 import BeautifulSoup

    html = _read_text(path, max_bytes)
    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(strip=True) if soup.title else None
    meta_date = soup.find("meta", attrs={"property": "article:published_time"}) or soup.find(
        "meta", attrs={"name": "date"}
    )
    canonical = soup.find("link", attrs={"rel": "canonical"}) or soup.find("meta", attrs={"property": "og:url"})
    url = canonical.get("href") or canonical.get("content") if canonical else None
    # Read before decompose(): decomposing <head> empties these tags' attributes.
    date_value = parse_date(meta_date.get("content") if meta_date else None)
    for hidden in soup(["script", "style", "noscript", "template", "head", "iframe", "svg"]):
        hidden.decompose()
    lines = [line.strip() for line in soup.get_text("\n").splitlines()]
    text = "\n\n".join(line for line in lines if line)
    if not text:
        raise ValueError("it has no visible text")
    return _make_document(
        text, source=source, origin=origin, path=str(path), title=title or _headline(text),
        date_value=date_value or _dateline_date(text), date_from="html meta" if date_value else "dateline",
        url=url,
    )


def _records(path: Path) -> Iterator[tuple[int, object | Exception]]:
    """(line number, record or the parse error) for a JSONL or JSON dump."""
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            yield 1, ValueError(f"not valid JSON: {err}")
            return
        records = data.get("articles", [data]) if isinstance(data, dict) else data
        for record in records if isinstance(records, list) else [records]:
            yield 1, record
        return
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                yield number, json.loads(raw.decode("utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as err:
                yield number, ValueError(f"not valid JSON: {err}")


def load_dump(path: Path, origin: str, max_bytes: int, result: LoadResult, seen: set[str]) -> None:
    """Articles from a JSONL/JSON dump: one per record, fields id, url, title, published, authors, text."""
    for number, record in _records(path):
        where = f"{path}:{number}"
        if isinstance(record, Exception):
            result.cannot_read(path, f"{where}: {record}")
            continue
        if not isinstance(record, dict):
            result.cannot_read(path, f"{where}: a record must be a JSON object")
            continue
        if "text" not in record and "question" in record:
            result.skipped.append(f"{path}: {QUESTION_FILE}")
            return
        text = record.get("text")
        if not isinstance(text, str) or not text.strip():
            result.cannot_read(path, f"{where}: the record has no 'text'")
            continue
        if len(text.encode("utf-8")) > max_bytes:
            result.cannot_read(path, f"{where}: the article text is over the size limit (BOT_MAX_FILE_MB)")
            continue
        record_id = str(record.get("id") or record.get("url") or f"{path.stem}-{number}")
        if record_id in seen:
            result.problems.append(f"{where}: duplicate article id '{record_id}', kept the first")
            continue
        seen.add(record_id)
        authors = record.get("authors") or []
        title = record.get("title") or _headline(text)
        result.documents.append(
            _make_document(
                text, source=record_id, origin=origin, path=str(path),
                title=title or _title_from_text(text), embed_title=bool(title),
                date_value=parse_date(record.get("published") or record.get("date")) or _dateline_date(text),
                date_from="published" if record.get("published") else "dateline",
                url=record.get("url"), authors=[str(a) for a in authors] if isinstance(authors, list) else [str(authors)],
            )
        )


_ARTICLE_LOADERS = {
    ".txt": load_text_article,
    ".md": load_markdown_article,
    ".markdown": load_markdown_article,
    ".html": load_html_article,
    ".htm": load_html_article,
}


def _walk(root: Path, result: LoadResult) -> Iterator[Path]:
    """Files under root, following links but never the same directory twice (link loops)."""
    seen_dirs: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=lambda e: result.cannot_read(e.filename, f"{e.filename}: {e.strerror}")):
        real = os.path.realpath(dirpath)
        if real in seen_dirs:
            result.skipped.append(f"{dirpath}: a link back to a folder already read (link loop)")
            dirnames[:] = []
            continue
        seen_dirs.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                yield Path(dirpath) / name


def no_such_path(path: Path) -> str:
    return f"{path}: no such file or folder"


def load_paths(paths: list[Path], max_file_mb: float = 20.0) -> LoadResult:
    """Load every supported article under the given files and folders."""
    result = LoadResult()
    max_bytes = int(max_file_mb * 1_000_000)
    seen_ids: set[str] = set()
    for given in paths:
        given = Path(given)
        if not given.exists():
            result.problems.append(no_such_path(given))
            continue
        given = given.resolve()
        root = given if given.is_dir() else given.parent
        files = _walk(given, result) if given.is_dir() else iter([given])
        origin = str(root.resolve())
        for path in files:
            suffix = path.suffix.lower()
            if suffix not in SUPPORTED_SUFFIXES:
                result.skipped.append(f"{path}: not an article type ({', '.join(sorted(SUPPORTED_SUFFIXES))})")
                continue
            if not path.is_file():  # reading a pipe or device would hang or never end
                reason = "a link to a file that does not exist" if path.is_symlink() else "not a regular file (a pipe, device or socket)"
                result.problems.append(f"{path}: skipped, it is {reason}")
                continue
            try:
                if suffix in DUMP_SUFFIXES:
                    load_dump(path, origin, max_bytes, result, seen_ids)
                    continue
                source = path.relative_to(root).as_posix()
                if source in seen_ids:
                    result.problems.append(f"{path}: duplicate article name '{source}', kept the first")
                    continue
                result.documents.append(_ARTICLE_LOADERS[suffix](path, source, origin, max_bytes))
                seen_ids.add(source)
            except (OSError, ValueError) as err:
                reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
                result.cannot_read(path, f"{path}: skipped, {reason}")
            except Exception as err:  # a parser failing on one odd file must not stop the others
                result.cannot_read(path, f"{path}: skipped, it could not be read ({type(err).__name__}: {err})")
    return result
