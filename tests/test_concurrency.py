"""Many questions at once through one shared QA, and questions while another process ingests into the store."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from conftest import CORPUS, make_settings, seed_copy

THREADS = 20


def seed_questions() -> list[dict]:
    rows = [json.loads(line) for line in (CORPUS / "questions.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    return [q for q in rows if q["answerable"] and not q.get("history")]


def correct(question: dict, answer) -> bool:
    """The expected fact is in the answer, and every citation is from an article that holds it."""
    return (
        not answer.refused
        and all(re.search(p, answer.text, re.I) for p in question["must_contain"])
        and bool(answer.citations)
        and all(c.source in question["sources"] for c in answer.citations)
    )


def key(answer) -> tuple:
    return (
        answer.question, answer.text, answer.refused,
        tuple((c.n, c.source, c.start, c.end, c.quote) for c in answer.citations),
    )


def test_twenty_simultaneous_questions_each_get_their_own_answer(qa):
    chosen = seed_questions()[:THREADS]
    alone = {q["id"]: qa.answer(q["question"]) for q in chosen}  # one at a time, the reference
    right_alone = sum(correct(q, alone[q["id"]]) for q in chosen)
    assert right_alone >= 10, f"only {right_alone} of {THREADS} seed questions are answered correctly"

    start = threading.Barrier(THREADS)

    def ask(question: dict):
        start.wait()  # all twenty enter the answer path together
        return question, qa.answer(question["question"])

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(ask, chosen))

    assert len(results) == THREADS
    for question, answer in results:
        assert answer.question == question["question"]
        assert key(answer) == key(alone[question["id"]]), question["id"]
        if correct(question, alone[question["id"]]):
            assert correct(question, answer), (question["id"], answer.text)
        for c in answer.citations:  # the quote is really at those offsets of that article
            assert qa.store.article(c.source).text[c.start : c.end] == c.quote
    print(f"\n{THREADS} simultaneous questions: {right_alone} with the expected fact, all identical to one-at-a-time")


NEW_ARTICLE = """Lighthouse keeper honoured in Orkney

KIRKWALL, Jan. 20, 2018 - The lighthouse keeper Morag Tulloch received the Stromness Medal on Saturday
for rescuing eleven sailors from the trawler Northern Gannet during a storm. She rowed out three times in
a small boat, officials said.
"""


def test_questions_keep_working_while_another_process_ingests(tmp_path, embed_model):
    from bot.answer import QA
    from bot.ingest import ingest
    from bot.store import open_store

    folder = seed_copy(tmp_path)
    settings = make_settings(tmp_path / "store")
    ingest(open_store(settings, embed_model, writable=True), [folder], embed_model)
    qa = QA(settings, embed_model=embed_model)
    before = qa.answer("Who received the Stromness Medal?")
    assert before.refused

    (folder / "orkney-lighthouse.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    ingesting = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "ingest", str(folder), "--store", str(settings.store)],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    questions = ["Who is Canada's foreign minister?", "Who is the senior policy director at the Korea Society?"]
    asked, errors = [], []

    def keep_asking(question: str) -> None:
        while ingesting.poll() is None:
            try:
                answer = qa.answer(question)
                asked.append(answer)
                assert not answer.refused and answer.citations, answer.text
            except Exception as err:  # any failure while the ingest runs is what this test looks for
                errors.append(repr(err))
            time.sleep(0.05)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(keep_asking, questions))
    out, err = ingesting.communicate(timeout=300)
    assert ingesting.returncode == 0, err[-2000:]
    assert "added 1" in out
    assert not errors, errors[:3]
    assert asked, "no question was asked while the ingest ran"

    after = qa.answer("Who received the Stromness Medal?")  # the same QA object, no restart
    assert not after.refused and "Tulloch" in after.text, after.text
    assert {c.source for c in after.citations} == {"orkney-lighthouse.txt"}
    print(f"\n{len(asked)} answers while another process ingested; the new article answered afterwards")
