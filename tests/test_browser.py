"""The app in a real browser: Playwright (PyPI) driving Debian's Chromium against `streamlit run bot/app.py`.

Needs /usr/bin/chromium (`apt-get install chromium`; tests/run.sh installs it). Playwright never
downloads a browser here. Screenshots go to test-artifacts/ (ignored by git).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from bot.config import PROJECT_DIR
from conftest import CORPUS, make_settings, seed_copy

APP = str(PROJECT_DIR / "bot" / "app.py")
ARTIFACTS = PROJECT_DIR / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
WAIT_MS = 90_000  # generous: the machine may be busy; nothing here asserts speed
MESSAGE = '[data-testid="stChatMessageContent"]'
expect.set_options(timeout=WAIT_MS)

FILLER = "".join(
    f"Paragraph {i}: lantern boats drifted past stall number {i} while a brass band played on the quay.\n\n"
    for i in range(1, 41)
)
XSS_ARTICLE = (
    "Zorblatt Harbor Festival Board Causes a Stir\n\n"
    "date 2018-01-20 The Zorblatt harbor festival opened on Saturday with lantern boats and a fish market.\n\n"
    + FILLER
    + "The festival organisers pinned a strange notice on the festival board that read "
    "<script>window.__pwned = 1; alert(1)</script> beside <img src=x onerror=\"window.__pwned = 2; alert(2)\"> "
    "and [a festival link](javascript:alert(3)) and <a href=\"javascript:alert(4)\">x</a> "
    "with **bold claims** and ![a picture](http://127.0.0.1:9/pixel.png) on it.\n\n"
    "Visitors said the lantern boats were the highlight of the evening.\n"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, embed_model):
    """The app on a free port over a private store of the seed corpus plus an article full of markup."""
    from bot.ingest import ingest
    from bot.store import open_store

    folder = tmp_path_factory.mktemp("browser")
    corpus = seed_copy(folder)
    shutil.copy(CORPUS / "questions.jsonl", corpus / "questions.jsonl")
    (corpus / "zorblatt-harbor-festival.txt").write_text(XSS_ARTICLE, encoding="utf-8")
    store = open_store(make_settings(folder / "store"), embed_model, writable=True)
    ingest(store, [corpus], embed_model)

    port = free_port()
    env = dict(os.environ, BOT_STORE=str(folder / "store"), BOT_CORPUS=str(corpus),
               BOT_FEEDBACK_LOG=str(folder / "feedback.jsonl"), TOKENIZERS_PARALLELISM="false")
    log_path = folder / "streamlit.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", APP, "--server.address", "127.0.0.1",
             "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if server.poll() is not None:
                pytest.fail(f"streamlit exited with {server.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url, folder
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        server.wait()
        assert "Traceback" not in log_path.read_text(errors="replace"), log_path.read_text()[-3000:]


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, app_url):
    url, _ = app_url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.dialogs = []  # every alert/confirm/prompt that fires; there must be none
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.goto(url)
    expect(page.get_by_role("heading", name="News Q&A")).to_be_visible()
    yield page
    context.close()


def ask(page: Page, question: str, answers_before: int):
    """Type a question, wait for the streamed answer to finish; the assistant message's content element."""
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    box.press("Enter")
    # an answer is complete when its feedback thumbs appear (they are drawn after the stream ends)
    expect(page.get_by_test_id("stFeedback")).to_have_count(answers_before + 1)
    messages = page.locator(MESSAGE)
    expect(messages).to_have_count(2 * (answers_before + 1))
    return messages.nth(2 * answers_before + 1)


def open_article(page: Page, message, nth: int = 0):
    """Open the whole article from a source; the iframe's Frame once its highlight is in place."""
    message.get_by_role("button", name="Open the article at this sentence").nth(nth).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    handle = dialog.locator("iframe").element_handle()
    frame = handle.content_frame()
    frame.wait_for_selector("mark#hit")
    frame.wait_for_load_state("load")
    return dialog, frame


def mark_in_view(frame) -> dict:
    return frame.evaluate(
        """() => { const r = document.getElementById('hit').getBoundingClientRect();
                   return {top: r.top, bottom: r.bottom, height: window.innerHeight, scrollY: window.scrollY,
                           offsetTop: r.top + window.scrollY}; }"""
    )


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    height = page.evaluate("Math.max(...[...document.querySelectorAll('*')].map(e => e.scrollHeight))")
    page.set_viewport_size({"width": 1280, "height": min(8000, max(900, height + 100))})
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_chat_in_browser_streams_cited_answers_follow_ups_and_refusals(page, app_url):
    examples = page.get_by_role("button", name=re.compile(r"\?$"))
    expect(examples.first).to_be_visible()
    assert 1 <= examples.count() <= 3
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar).to_contain_text("Articles")
    expect(sidebar.get_by_test_id("stMetricValue").first).to_have_text("3")
    expect(sidebar).to_contain_text("Last ingest: 20")

    answer = ask(page, "What did Tillerson urge China and Russia to do?", 0)
    expect(answer).to_contain_text("[1]")
    text = answer.inner_text()
    assert "China and Russia" in text
    expect(answer).to_contain_text("Sources")
    first_mark = answer.locator("mark").first
    expect(first_mark).to_be_visible()
    highlighted = first_mark.inner_text()
    assert len(highlighted) > 20 and highlighted in text  # the cited sentence, as quoted in the answer
    background = first_mark.evaluate("m => getComputedStyle(m).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent")

    dialog, frame = open_article(page, answer)
    expect(dialog).to_contain_text("The cited sentence is highlighted")
    spot = mark_in_view(frame)
    assert 0 <= spot["top"] and spot["bottom"] <= spot["height"], spot  # scrolled to the sentence
    assert frame.locator("mark#hit").inner_text() == highlighted
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    ask(page, "Who is South Korea's foreign minister?", 1)
    follow_up = ask(page, "How did she describe the talks with the North?", 2)
    expect(follow_up).to_contain_text("Kang Kyung-wha")
    expect(follow_up).to_contain_text("[1]")

    refused = ask(page, "Who won the 2018 World Cup?", 3)
    expect(refused).to_contain_text("The articles don't say")
    expect(refused).to_contain_text("do not answer the question")
    expect(refused).to_contain_text("not an answer", ignore_case=True)
    assert "[1]" not in refused.inner_text().split("Closest passages")[0]

    page.get_by_test_id("stFeedbackButton").first.click()  # thumbs up on the first answer
    log = app_url[1] / "feedback.jsonl"
    deadline = time.monotonic() + 30
    while not log.exists() and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert '"rating": "up"' in log.read_text(encoding="utf-8")
    screenshot(page, "browser-chat.png")
    assert page.dialogs == []


def test_markup_in_an_article_stays_inert_text(page):
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    answer = ask(page, "What notice did the Zorblatt festival organisers pin on the festival board?", 0)
    expect(answer).to_contain_text("[1]")
    page.wait_for_timeout(1000)  # give any onerror handler time to fire
    text = answer.inner_text()
    for literal in ("<script>window.__pwned = 1; alert(1)</script>", '<img src=x onerror="window.__pwned = 2',
                    "[a festival link](javascript:alert(3))", '<a href="javascript:alert(4)">x</a>',
                    "**bold claims**"):
        assert literal in text, literal
    assert answer.locator("script, img, a, strong, iframe").count() == 0
    assert page.locator('a[href^="javascript"], img[src="x"]').count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"

    sources = answer.locator("mark")
    n = next(i for i in range(sources.count()) if "festival board" in sources.nth(i).inner_text())
    dialog, frame = open_article(page, answer, n)
    page.wait_for_timeout(500)
    spot = mark_in_view(frame)
    assert spot["offsetTop"] > spot["height"], spot  # the sentence is far down the article ...
    assert spot["scrollY"] > 0 and 0 <= spot["top"] and spot["bottom"] <= spot["height"], spot  # ... and in view
    assert "<script>window.__pwned = 1; alert(1)</script>" in frame.locator("mark#hit").inner_text()
    assert frame.locator("mark#hit img, mark#hit a, mark#hit script").count() == 0
    assert frame.evaluate("typeof window.__pwned") == "undefined"
    screenshot(page, "browser-xss.png")

    assert page.dialogs == []
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert not [u for u in requests if "127.0.0.1:9/" in u or u.endswith("/x")]


def test_bot_ui_starts_the_app_on_the_given_store(tmp_path):
    port = free_port()
    env = dict(os.environ, BOT_CORPUS=str(tmp_path / "corpus"))
    with open(tmp_path / "ui.log", "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "ui", "--store", str(tmp_path / "empty-store"),
             "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true"],
            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (tmp_path / "ui.log").read_text()
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "ui.log").read_text()
            time.sleep(0.3)
        assert str(tmp_path / "empty-store") in (tmp_path / "ui.log").read_text()  # the startup line
    finally:
        server.terminate()
        server.wait(timeout=15)
