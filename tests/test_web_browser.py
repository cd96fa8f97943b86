"""The chat page in a real browser: Debian's Chromium, headless, driven by Playwright.

No browser is downloaded: Playwright launches /usr/bin/chromium (``.ci/run`` installs it).
The screenshot goes to ``test-artifacts/`` (gitignored).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _web_support import Served, shop_agent

from agentkit.sessions import SQLiteStore
from agentkit.web import chat_app

REFUNDED: list[str] = []  # the refunds that really ran, in this module's server

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def page_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store = SQLiteStore(tmp_path_factory.mktemp("browser") / "chat.db")
    with Served(chat_app(shop_agent(REFUNDED, faults="slow=0.02"), store)) as served:
        yield served.url + "/"
    store.close()


@pytest.fixture
def browser_page() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), "install Debian's chromium (.ci/run does)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def _ask_for_a_refund(page: Any, url: str, order: str) -> None:
    from playwright.sync_api import expect

    page.goto(url)
    page.get_by_test_id("new-conversation").click()
    page.get_by_test_id("prompt").fill(f"请退款 {order}")
    page.get_by_test_id("send").click()
    tool = page.get_by_test_id("tool-call")
    expect(tool).to_contain_text(f'refund({{"order_id":"{order}"}})')
    expect(tool.get_by_test_id("approval")).to_be_visible()
    expect(tool.get_by_test_id("tool-result")).to_have_count(0)  # nothing ran yet


def test_approve_a_paused_call_then_reload(page_url: str, browser_page: Any) -> None:
    from playwright.sync_api import expect

    page = browser_page
    _ask_for_a_refund(page, page_url, "ORD5")
    page.reload()  # the pending call survives a reload: it is kept in the session
    expect(page.get_by_test_id("approval")).to_be_visible()
    assert "ORD5" not in REFUNDED
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat_page_pending.png"), full_page=True)
    page.get_by_test_id("approve").click()
    tool = page.get_by_test_id("tool-call")
    expect(tool.get_by_test_id("tool-result")).to_contain_text('"refunded":true')
    expect(page.get_by_test_id("assistant").last).to_have_text("订单 ORD5 已退款。")
    expect(page.get_by_test_id("approval")).to_have_count(0)
    assert REFUNDED.count("ORD5") == 1
    page.screenshot(path=str(ARTIFACTS / "chat_page_approved.png"), full_page=True)

    page.reload()
    expect(page.get_by_test_id("tool-call")).to_contain_text("refund")
    expect(page.get_by_test_id("tool-result")).to_contain_text('"refunded":true')
    expect(page.get_by_test_id("assistant").last).to_have_text("订单 ORD5 已退款。")
    expect(page.get_by_test_id("approval")).to_have_count(0)


def test_reject_a_paused_call(page_url: str, browser_page: Any) -> None:
    from playwright.sync_api import expect

    page = browser_page
    _ask_for_a_refund(page, page_url, "ORD6")
    page.get_by_test_id("reject").click()
    expect(page.get_by_test_id("tool-result")).to_contain_text("refused")
    expect(page.get_by_test_id("assistant").last).to_contain_text("没有退款")
    assert "ORD6" not in REFUNDED
    page.reload()
    expect(page.get_by_test_id("assistant").last).to_contain_text("没有退款")
    expect(page.get_by_test_id("approval")).to_have_count(0)


def test_ask_the_weather_see_the_tool_call_and_answer_then_reload(page_url: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    assert os.path.exists(CHROMIUM), "install Debian's chromium (.ci/run does)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.goto(page_url)
            expect(page.locator("#key-form")).to_be_hidden()  # no key needed here
            page.get_by_test_id("prompt").fill("查询北京天气")
            page.get_by_test_id("send").click()
            tool = page.get_by_test_id("tool-call")
            expect(tool).to_contain_text('get_weather({"city":"北京"})')
            expect(tool.get_by_test_id("tool-result")).to_contain_text('"temperature_c":25')
            answer = page.get_by_test_id("assistant").last
            expect(answer).to_have_text("北京今天晴，气温 25°C。")
            expect(page.get_by_test_id("send")).to_be_enabled()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "chat_page.png"), full_page=True)
            session = page.evaluate("localStorage.getItem('agentkit.session')")

            page.reload()  # the conversation comes back from GET /sessions/{id}
            expect(page.get_by_test_id("tool-call")).to_contain_text("get_weather")
            expect(page.get_by_test_id("assistant").last).to_have_text("北京今天晴，气温 25°C。")
            assert page.evaluate("localStorage.getItem('agentkit.session')") == session

            page.get_by_test_id("new-conversation").click()
            expect(page.get_by_test_id("tool-call")).to_have_count(0)
            assert page.evaluate("localStorage.getItem('agentkit.session')") != session
        finally:
            browser.close()


def test_errors_are_shown_in_plain_words(page_url: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.goto(page_url)
            page.get_by_test_id("prompt").fill("x" * 40_000)  # over the server's limit
            page.get_by_test_id("send").click()
            expect(page.get_by_test_id("error")).to_contain_text("too long")
        finally:
            browser.close()


def test_two_calls_waiting_at_once_are_decided_together(page_url: str, browser_page: Any) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page.goto(page_url)
    page.get_by_test_id("new-conversation").click()
    page.get_by_test_id("prompt").fill("两笔退款 ORD7 和 ORD8")
    page.get_by_test_id("send").click()
    rows = page.get_by_test_id("approval")
    expect(rows).to_have_count(2)
    # The server needs a decision for every waiting call: the first one waits for the other.
    rows.nth(0).get_by_test_id("approve").click()
    expect(rows.nth(0).get_by_test_id("decided")).to_contain_text("Approved")
    expect(page.get_by_test_id("error")).to_have_count(0)
    assert "ORD7" not in REFUNDED
    rows.nth(1).get_by_test_id("reject").click()
    expect(page.get_by_test_id("assistant").last).to_have_text("两笔退款已处理。")
    expect(page.get_by_test_id("approval")).to_have_count(0)
    results = page.get_by_test_id("tool-result")
    expect(results.nth(0)).to_contain_text('"refunded":true')
    expect(results.nth(1)).to_contain_text("refused")
    expect(page.get_by_test_id("error")).to_have_count(0)
    assert REFUNDED.count("ORD7") == 1 and "ORD8" not in REFUNDED


def test_a_call_decided_in_another_tab_is_not_left_waiting(page_url: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context()  # two tabs of one browser: one conversation
            first, second = context.new_page(), context.new_page()
            _ask_for_a_refund(first, page_url, "ORD11")
            second.goto(page_url)
            expect(second.get_by_test_id("approval")).to_be_visible()
            first.get_by_test_id("approve").click()
            expect(first.get_by_test_id("assistant").last).to_have_text("订单 ORD11 已退款。")
            # The stale tab's click: it shows what happened instead of an error and buttons.
            second.get_by_test_id("approve").click()
            expect(second.get_by_test_id("assistant").last).to_have_text("订单 ORD11 已退款。")
            expect(second.get_by_test_id("approval")).to_have_count(0)
            expect(second.get_by_test_id("error")).to_have_count(0)
            assert REFUNDED.count("ORD11") == 1
        finally:
            browser.close()
