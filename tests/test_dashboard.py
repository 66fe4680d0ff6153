"""The dashboard in a real headless Chromium: it loads offline, the map renders, and changing
a lever and stepping changes the charts.

The server is `innogrid viz`'s own command (solara on 127.0.0.1, telemetry off, assets from
the solara-assets package); the browser is Debian's chromium driven by Playwright.
"""

import os
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest

from experiments.cli import viz_command
from experiments.presentation.dashboard import lever_policy
from model.params import BUDGET_SHARES, Policy

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def test_lever_policy_keeps_the_budget_total_and_proportions():
    p = Policy()
    q = lever_policy(p, {"share_talent": 0.3})
    assert q.share_talent == 0.3
    assert sum(getattr(q, k) for k in BUDGET_SHARES) == pytest.approx(
        sum(getattr(p, k) for k in BUDGET_SHARES))
    assert q.share_platform / q.share_ip == pytest.approx(p.share_platform / p.share_ip)
    with pytest.raises(ValueError, match="more than"):
        lever_policy(p, {"share_talent": 0.6, "share_rd_subsidy": 0.6})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    cmd, env = viz_command("grid_baseline.toml", port)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"dashboard server did not start: {proc.stderr.read()[-2000:]!r}")
        time.sleep(0.5)
    yield url
    os.killpg(proc.pid, 15)
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def page(server):
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is missing: ./dev setup installs it (apt-get install "
                    "chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        failed, requested = [], []
        pg.on("requestfailed", lambda r: failed.append(r.url))
        pg.on("request", lambda r: requested.append(r.url))
        pg.goto(server, wait_until="networkidle", timeout=90_000)
        pg.failed_requests, pg.requested = failed, requested
        yield pg
        browser.close()


def _chart(pg):
    return pg.locator("img").nth(1)


def _time(pg) -> str:
    return pg.locator("text=/Time: /").first.inner_text()


def _until_changed(pg, before: bytes, what, timeout_s=60) -> bytes:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = what()
        if now != before:
            return now
        pg.wait_for_timeout(250)
    return what()


def test_page_loads_offline_and_the_map_renders(page):
    page.wait_for_selector("text=STEP", timeout=60_000)
    assert "innogrid" in page.locator("header, .v-toolbar").first.inner_text()
    imgs = page.locator("img")
    imgs.first.wait_for(timeout=60_000)
    assert imgs.count() >= 2  # the map and the charts
    box = imgs.first.bounding_box()
    assert box["width"] > 300 and box["height"] > 250
    assert len(imgs.first.screenshot()) > 5_000  # a drawn figure, not an empty box
    # offline: every request went to the local server (or is inline data), and none failed
    outside = [u for u in page.requested
               if not u.startswith(("http://127.0.0.1:", "ws://127.0.0.1:", "data:", "blob:"))]
    assert page.requested and not outside, outside
    assert not page.failed_requests


def test_stepping_and_a_lever_change_the_charts(page):
    page.wait_for_selector("text=STEP", timeout=60_000)
    start = _chart(page).screenshot()
    for _ in range(3):
        page.get_by_role("button", name="STEP").click()
        page.wait_for_timeout(300)
    page.wait_for_selector("text=Time: 3", timeout=60_000)
    stepped = _until_changed(page, start, lambda: _chart(page).screenshot())
    assert stepped != start  # the time series grew
    # a lever: the innovation budget slider to its maximum, then Reset (SolaraViz builds
    # a new model at step 0 with the levers as they are set)
    row = page.locator(".v-input", has_text="innovation budget")
    before = row.locator("input").first.input_value()
    track = row.locator(".v-slider").first
    b = track.bounding_box()
    page.mouse.click(b["x"] + b["width"] - 2, b["y"] + b["height"] / 2)
    after = row.locator("input").first.input_value()
    assert float(after) > float(before)
    page.get_by_role("button", name="RESET").click()
    reset = _until_changed(page, stepped, lambda: _chart(page).screenshot())
    assert reset != stepped
    for _ in range(3):
        page.get_by_role("button", name="STEP").click()
        page.wait_for_timeout(300)
    page.wait_for_selector("text=Time: 3", timeout=60_000)
    page.wait_for_timeout(1000)  # let the last redraw arrive
    pushed = _until_changed(page, reset, lambda: _chart(page).screenshot())
    assert pushed != reset
    assert pushed != stepped  # the same three steps with tripled budgets: other charts
