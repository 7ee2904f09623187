"""Reading article files: metadata rules and bad files (no model, no store: these are fast)."""

from __future__ import annotations

import json

from conftest import CORPUS, NZ, VOA, seed_copy
from llama_index.core.schema import MetadataMode

from bot.loaders import load_paths
from bot.text import split_sentences


def _by_source(result):
    return {d.metadata["source"]: d for d in result.documents}


def _problem_for(result, name: str) -> str:
    hits = [p for p in result.problems if name in p]
    assert len(hits) == 1, f"expected one problem naming {name}, got {result.problems}"
    return hits[0]


def test_seed_articles_metadata(tmp_path):
    docs = _by_source(load_paths([seed_copy(tmp_path)]))
    assert set(docs) == {VOA, NZ}
    voa, nz = docs[VOA], docs[NZ]
    assert voa.metadata["title"] == "Vancouver Talks Focus on Pressuring North Korea"
    # The NZ article starts with a "date YYYY-MM-DD" prefix: it is the date, blanked out of the text
    # (same length, so offsets still match the file) and therefore never quoted.
    assert nz.metadata["date"] == "2017-12-25"
    raw = (CORPUS / NZ).read_text(encoding="utf-8")
    assert len(nz.text) == len(raw)
    assert "date 2017-12-25" not in nz.text
    assert nz.text.lstrip().startswith("Secretary of State Rex Tillerson called")
    start = raw.index("Foreign Affairs Minister Winston Peters")
    assert nz.text[start : start + 40] == raw[start : start + 40]
    # Metadata that would only add noise to the embeddings is kept out of them.
    assert "2017-12-25" not in nz.get_content(metadata_mode="embed")


def test_markdown_front_matter_html_and_dateline(tmp_path):
    (tmp_path / "note.md").write_text(
        "---\ntitle: Summit ends\ndate: 2018-01-17\nurl: https://example.org/summit\nauthors: [A. Writer]\n---\n"
        "The summit ended with a joint statement.\n",
        encoding="utf-8",
    )
    (tmp_path / "page.html").write_text(
        "<html><head><title>Harbour reopens</title><style>p{color:red}</style>"
        '<meta property="article:published_time" content="2018-01-20T08:00:00+00:00">'
        '<link rel="canonical" href="https://example.org/harbour">'
        "<script>var secret = 'do not index me';</script></head>"
        "<body><p>The harbour reopened after the storm.</p></body></html>",
        encoding="utf-8",
    )
    (tmp_path / "wire.txt").write_text(
        "Port traffic resumes\n\nSEOUL, March 3, 2018 - Ships returned to the port on Saturday.\n",
        encoding="utf-8",
    )
    result = load_paths([tmp_path])
    assert result.problems == []
    docs = _by_source(result)
    md = docs["note.md"]
    assert (md.metadata["title"], md.metadata["date"], md.metadata["url"]) == (
        "Summit ends", "2018-01-17", "https://example.org/summit",
    )
    assert "title:" not in md.text and md.text.strip().startswith("The summit ended")
    html = docs["page.html"]
    assert html.metadata["title"] == "Harbour reopens"
    assert "reopened" in html.text
    assert "secret" not in html.text and "color" not in html.text
    assert (html.metadata["date"], html.metadata["url"]) == ("2018-01-20", "https://example.org/harbour")
    wire = docs["wire.txt"]
    assert wire.metadata["title"] == "Port traffic resumes"
    assert wire.metadata["date"] == "2018-03-03"


def test_bad_files_are_reported_by_name_and_the_rest_is_read(tmp_path):
    folder = seed_copy(tmp_path)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.txt").write_text("  \n\n \t\n", encoding="utf-8")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (folder / "latin1.txt").write_bytes("Caf\xe9 owners in Montr\xe9al met on Monday.".encode("latin-1"))
    (folder / "picture.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    result = load_paths([folder])

    assert set(_by_source(result)) == {VOA, NZ}
    assert "empty" in _problem_for(result, "empty.txt")
    assert "white space" in _problem_for(result, "blank.txt")
    assert "binary" in _problem_for(result, "binary.txt")
    latin = _problem_for(result, "latin1.txt")
    assert "not UTF-8" in latin and "0xe9" in latin
    # Other file types are not errors, just not articles.
    assert any("picture.png" in s for s in result.skipped)
    assert not any("picture.png" in p for p in result.problems)


def test_byte_order_marks(tmp_path):
    body = "Ferry service resumes\n\nThe ferry to Quillon Island resumed service on Monday.\n"
    (tmp_path / "bom8.txt").write_bytes(b"\xef\xbb\xbf" + body.encode("utf-8"))
    (tmp_path / "utf16.txt").write_bytes(body.encode("utf-16"))  # with its BOM, as Windows editors save it
    result = load_paths([tmp_path])
    assert result.problems == []
    docs = _by_source(result)
    for name in ("bom8.txt", "utf16.txt"):
        assert docs[name].metadata["title"] == "Ferry service resumes"
    # Offsets in the text are offsets in the file as Python reads it.
    as_read = (tmp_path / "bom8.txt").read_text(encoding="utf-8")
    at = as_read.index("The ferry")
    assert docs["bom8.txt"].text[at : at + 9] == "The ferry"


def test_markdown_front_matter_after_a_byte_order_mark(tmp_path):
    (tmp_path / "bom.md").write_bytes(
        b"\xef\xbb\xbf---\ntitle: Ferry service resumes\ndate: 2022-07-03\n---\nThe ferry resumed service on Monday.\n")
    (doc,) = load_paths([tmp_path]).documents
    assert doc.metadata["title"] == "Ferry service resumes"
    assert doc.metadata["date"] == "2022-07-03"
    assert "title:" not in doc.text and doc.text.strip() == "The ferry resumed service on Monday."


def test_jsonl_dump_bad_lines_missing_text_and_duplicate_ids(tmp_path):
    good = {"id": "a1", "url": "https://example.org/a1", "title": "Dam opens", "published": "2018-02-01T10:00:00Z",
            "authors": ["B. Reporter"], "text": "The new dam opened on Thursday."}
    lines = [
        json.dumps(good),
        '{"id": "broken", "text": "no closing brace"',
        json.dumps({"id": "a2", "title": "No text here"}),
        json.dumps({"id": "a1", "text": "A second record with the same id."}),
        "",
        json.dumps({"id": "a3", "title": "Bridge", "text": "The bridge was repaired."}),
        json.dumps(["not", "an", "object"]),
    ]
    dump = tmp_path / "dump.jsonl"
    dump.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = load_paths([dump])

    docs = _by_source(result)
    assert set(docs) == {"a1", "a3"}  # source of a dump record is its id
    a1 = docs["a1"]
    assert a1.text == good["text"]
    assert (a1.metadata["title"], a1.metadata["date"], a1.metadata["url"], a1.metadata["authors"]) == (
        "Dam opens", "2018-02-01", "https://example.org/a1", "B. Reporter",
    )
    problems = "\n".join(result.problems)
    assert f"{dump}:2: not valid JSON" in problems
    assert f"{dump}:3: the record has no 'text'" in problems
    assert f"{dump}:4: duplicate article id 'a1'" in problems
    assert f"{dump}:7: a record must be a JSON object" in problems
    assert len(result.problems) == 4


def test_json_dump_and_question_files(tmp_path):
    (tmp_path / "one.json").write_text(
        json.dumps({"articles": [{"id": "j1", "text": "Rail strike ends after talks."}]}), encoding="utf-8"
    )
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "questions.jsonl").write_text(json.dumps({"id": "q", "question": "Why?"}) + "\n", encoding="utf-8")
    result = load_paths([tmp_path])
    assert set(_by_source(result)) == {"j1"}
    assert "not valid JSON" in _problem_for(result, "bad.json")
    assert any("questions.jsonl" in s and "question file" in s for s in result.skipped)


def test_missing_path_is_reported(tmp_path):
    result = load_paths([tmp_path / "nowhere"])
    assert result.documents == []
    assert result.problems == [f"{tmp_path / 'nowhere'}: no such file or folder"]


def test_dump_record_without_a_title_is_titled_from_its_text(tmp_path):
    long_first = ("Flood waters rose across the Tay valley overnight as the council opened three emergency "
                  "shelters for residents of low-lying streets. Forty homes were evacuated.")
    records = [
        {"id": "c50d793ed670", "published": "2022-06-11", "text": "Perth council reopened the bridge. It was shut for a month."},
        {"id": "f00d", "text": long_first},
    ]
    dump = tmp_path / "dump.jsonl"
    dump.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    docs = _by_source(load_paths([dump]))

    assert docs["c50d793ed670"].metadata["title"] == "Perth council reopened the bridge"
    title = docs["f00d"].metadata["title"]
    assert long_first.startswith(title.removesuffix("…")) and title.endswith("…")
    assert 20 <= len(title) <= 81 and not title.removesuffix("…").endswith(" ")
    assert long_first[len(title) - 1] == " "  # cut between words, not inside one
    # A title made from the text is not embedded again with every chunk; a given title is.
    embedded = docs["c50d793ed670"].get_content(metadata_mode=MetadataMode.EMBED)
    assert "title:" not in embedded and embedded.count("Perth council reopened the bridge") == 1
    titled = tmp_path / "titled.jsonl"
    titled.write_text(json.dumps({"id": "t1", "title": "Bridge reopens", "text": "Perth council reopened it."}) + "\n")
    given = _by_source(load_paths([titled]))
    assert "Bridge reopens" in given["t1"].get_content(metadata_mode=MetadataMode.EMBED)


def test_a_state_abbreviation_in_a_dateline_does_not_end_the_sentence():
    text = ("GARDINER, Mont. – Yellowstone officials closed the park on Monday. "
            "The rally drew a critical mass. Then the crowd left.")
    assert [s.text for s in split_sentences(text)] == [
        "GARDINER, Mont. – Yellowstone officials closed the park on Monday.",
        "The rally drew a critical mass.",
        "Then the crowd left.",
    ]


def test_titles_numbers_and_times_do_not_cut_a_sentence_in_two():
    # A cut sentence makes a citation that stops mid-sentence ("He is ranked No.").
    text = ("Kentucky Gov. Andy Beshear signed the bill at 3 p.m. ET. The team is ranked No. 3 in the "
            "country. STEYER: No. And let me say this. It ended at 5 p.m. The ministers left. "
            "Pct. with at least a bachelor's degree: 20.0%")
    assert [s.text for s in split_sentences(text, offset=10)] == [
        "Kentucky Gov. Andy Beshear signed the bill at 3 p.m. ET.",
        "The team is ranked No. 3 in the country.",
        "STEYER: No.",
        "And let me say this.",
        "It ended at 5 p.m.",
        "The ministers left.",
        "Pct. with at least a bachelor's degree: 20.0%",
    ]
    assert all(text[s.start - 10 : s.end - 10] == s.text for s in split_sentences(text, offset=10))


def test_initials_before_a_name_do_not_end_the_sentence():
    text = ("Jackson has served on the D.C. Circuit since June. Boston's J.D. Martinez struck out. "
            "He moved to the U.S. The next day he left. Write to P.O. Box 1179.")
    assert [s.text for s in split_sentences(text)] == [
        "Jackson has served on the D.C. Circuit since June.",
        "Boston's J.D. Martinez struck out.",
        "He moved to the U.S.",
        "The next day he left.",
        "Write to P.O. Box 1179.",
    ]
