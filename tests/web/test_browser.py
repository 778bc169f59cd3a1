"""The dashboard in a real browser (Debian's chromium, driven by Playwright; no browser
download): every page loads without console errors, graphs draw and change range, a hostile
user name from the guard renders as text. Screenshots go to test-artifacts/web/."""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .agentproc import HOSTILE_USER, Agent

REPO = Path(__file__).resolve().parent.parent.parent
ARTIFACTS = REPO / "test-artifacts" / "web"
CHROMIUM = os.environ.get("YAMORI_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
PAGES = {"overview": "", "graphs": "graphs", "raid": "raid", "postgres": "postgres", "guard": "guard",
         "audit": "audit", "environment": "environment"}

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() or shutil.which("npm") is None,
                                reason="chromium/npm missing: scripts/system-deps.sh installs them (make test)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extras")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield instance
        instance.close()


def open_page(browser: Any, *, width: int = 1280, height: int = 900, lang: str = "en-US",
              answers: list[bool] | None = None) -> tuple[Any, list[str]]:
    """A fresh browser context; console errors, page errors and dialogs are collected. With
    `answers`, each dialog is accepted or dismissed in turn (an action's confirmation)."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale=lang,
                                  extra_http_headers={"Accept-Language": lang})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    def dialog(d: Any) -> None:
        if answers:
            problems.append(f"asked: {d.message}")
            d.accept() if answers.pop(0) else d.dismiss()
        else:
            problems.append(f"dialog: {d.message}")
            d.dismiss()

    page.on("dialog", dialog)
    return page, problems


def wait_until(page: Any, condition: Callable[[], bool], timeout: float = 15.0) -> None:
    """Poll from Python: the pages' CSP forbids the eval that wait_for_function would need."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the page did not change in time"
        page.wait_for_timeout(100)


def test_every_page_loads_cleanly(browser: Any, dashboard_agent: Agent) -> None:
    page, problems = open_page(browser)
    for name, path in PAGES.items():
        response = page.goto(dashboard_agent.url + path)
        assert response is not None and response.status == 200, name
        page.wait_for_load_state("networkidle")
        if name == "graphs":
            page.wait_for_selector(".graph[data-points]", timeout=15000)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    assert problems == []
    # every page is reachable from the overview
    page.goto(dashboard_agent.url)
    hrefs = set(page.eval_on_selector_all("nav a", "links => links.map(a => a.getAttribute('href'))"))
    assert {"/graphs", "/raid", "/postgres", "/guard", "/audit", "/environment"} <= hrefs


def test_overview_shows_alerts_with_advice_and_the_rebuild(browser: Any, dashboard_agent: Agent) -> None:
    page, problems = open_page(browser)
    page.goto(dashboard_agent.url)
    alerts = page.locator("#alerts li.alert")
    assert alerts.count() >= 1
    assert "+" not in (page.locator("#alerts h2").text_content() or "").split("(")[0]
    assert page.locator("#alerts .advice").count() >= 1, "alerts come with advice"
    assert "0.0.0.0/0" in (page.locator("#audit").text_content() or ""), "audit findings are listed"
    page.goto(dashboard_agent.url + "raid")
    text = page.locator("main").text_content() or ""
    assert "md2" in text and "23.4" in text and "sdc2[2]" in text, "members, flags and the rebuild are shown"
    assert page.locator("table.arrays progress").count() == 1
    assert problems == []


def test_graphs_change_range_and_zoom(browser: Any, dashboard_agent: Agent) -> None:
    page, problems = open_page(browser)
    page.goto(dashboard_agent.url + "graphs")
    chart = page.locator(".graph", has_text="cpu_percent").first
    chart.wait_for()
    page.locator("#group-system .graph[data-points]").first.wait_for(timeout=15000)
    day_from = int(chart.get_attribute("data-from") or 0)
    day_points = int(chart.get_attribute("data-points") or 0)
    assert day_points > 100, "a day of 5-minute data is drawn"
    assert page.locator("#group-system canvas").count() >= 1
    page.click("button.range[data-range='week']")
    wait_until(page, lambda: int(chart.get_attribute("data-from") or 0) < day_from - 5 * 86400)
    # drag across the plot: the chart reloads the selected span at a finer step
    week_from = int(chart.get_attribute("data-from") or 0)
    box = chart.locator(".u-over").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    wait_until(page, lambda: int(chart.get_attribute("data-from") or 0) > week_from + 86400)
    page.screenshot(path=str(ARTIFACTS / "graphs-zoomed.png"), full_page=False)
    zoomed_from = int(chart.get_attribute("data-from") or 0)
    page.click("button.pan[data-dir='-1']")   # pan back in time by half the window
    wait_until(page, lambda: int(chart.get_attribute("data-from") or 0) < zoomed_from)
    # the phone: charts fit the screen
    phone, phone_problems = open_page(browser, width=390, height=844)
    phone.goto(dashboard_agent.url + "graphs")
    phone.wait_for_selector(".graph[data-points]", timeout=15000)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"the page scrolls sideways on a phone ({width}px)"
    phone.screenshot(path=str(ARTIFACTS / "graphs-phone.png"), full_page=False)
    assert problems == [] and phone_problems == []


def test_hostile_user_name_renders_as_text(browser: Any, dashboard_agent: Agent) -> None:
    page, problems = open_page(browser)
    for path in ("", "guard"):
        page.goto(dashboard_agent.url + path)
        events = page.locator("table.events")
        assert HOSTILE_USER in (events.text_content() or ""), "the name is shown as it was written"
        assert events.locator("img").count() == 0, "and never becomes markup"
    assert not any(p.startswith("dialog") for p in problems)
    assert problems == []


def test_environment_plots_the_reading_on_the_psychrometric_chart(browser: Any, dashboard_agent: Agent) -> None:
    page, problems = open_page(browser)
    page.goto(dashboard_agent.url + "environment")
    chart = page.locator("figure.psychro svg")
    assert chart.locator("polygon.recommended").count() == 1 and chart.locator("polygon.allowable").count() == 1
    assert chart.locator("polyline.rh").count() == 5
    point = chart.locator("circle.reading[data-sensor='rack1-inlet']")
    assert point.get_attribute("data-inside") == "allowable", "dew point 16.5 °C: allowable, not recommended"
    assert "WARNING" in (point.get_attribute("class") or "")
    # the browser's own geometry agrees: the point lies inside the allowable outline, outside the recommended
    inside = page.evaluate("""() => {
        const svg = document.querySelector('figure.psychro svg');
        const c = svg.querySelector('circle.reading');
        const p = svg.createSVGPoint(); p.x = +c.getAttribute('cx'); p.y = +c.getAttribute('cy');
        return [svg.querySelector('polygon.allowable').isPointInFill(p),
                svg.querySelector('polygon.recommended').isPointInFill(p)];
    }""")
    assert inside == [True, False]
    row = page.locator("table.sensors tr", has_text="rack1-inlet").text_content() or ""
    assert "24.0" in row and "63" in row and "16.5" in row
    page.screenshot(path=str(ARTIFACTS / "environment-chart.png"), full_page=True)
    assert problems == []
    with urllib.request.urlopen(dashboard_agent.url + "api/environment", timeout=10) as response:
        data = json.loads(response.read())
    [sensor] = data["sensors"]
    assert (sensor["sensor"], sensor["state"], sensor["dew_point"]) == ("rack1-inlet", "WARNING", 16.5)
    assert data["envelope"]["class"] == "A1" and "ASHRAE" in data["envelope"]["source"]
    assert data["envelope"]["recommended"][0] == [18.0, 7.677], "the outline starts at 18 °C, 60 % RH"


def test_japanese_by_accept_language(browser: Any, dashboard_agent: Agent) -> None:
    page, problems = open_page(browser, lang="ja-JP")
    page.goto(dashboard_agent.url)
    assert "発生中のアラート" in (page.locator("#alerts h2").text_content() or "")
    page.screenshot(path=str(ARTIFACTS / "overview-ja.png"), full_page=True)
    assert problems == []


def test_actions_confirm_and_carry_the_csrf_token(browser: Any, dashboard_agent: Agent) -> None:
    answers = [False, True]
    page, problems = open_page(browser, answers=answers)
    page.goto(dashboard_agent.url)
    form = page.locator("#alerts form").first
    subject = form.locator("input[name=subject]").get_attribute("value")
    rule = form.locator("input[name=rule]").get_attribute("value")
    form.locator("button").click()
    page.wait_for_timeout(300)
    assert answers == [True] and problems and problems[0].startswith("asked:"), "the action asked first"
    assert page.locator("#alerts .quiet", has_text="acknowledged by").count() == 0, "dismissed: nothing done"
    with page.expect_navigation():
        page.locator(f"#alerts form:has(input[name=subject][value='{subject}'][name=subject])"
                     f":has(input[name=rule][value='{rule}']) button").first.click()
    assert answers == []
    assert "acknowledged by" in (page.locator("#alerts").text_content() or "")
    status = page.evaluate("fetch('/api/alerts/ack', {method: 'POST', body: new URLSearchParams({rule: 'x'})})"
                           ".then(r => r.status)")
    assert status == 403, "an action without the CSRF token is refused"
    assert [p for p in problems if not p.startswith("asked:") and "403" not in p] == []
