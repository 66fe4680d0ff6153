"""The dashboard: its model and charts (no browser), then in a real headless Chromium: it
loads offline, the map renders, stepping and a lever change the charts, every tab has its
own model, Pause holds and Play stops at the last step, a tab closed while playing
leaves the server idle, and stopping `innogrid viz` while a tab plays takes the server
with it.

The server is `innogrid viz`'s own command (solara on 127.0.0.1, telemetry off, assets from
the solara-assets package) on a short grid scenario written into a temporary folder (12
steps, seed 4242: not the 1 the dashboard used to take whatever the scenario said); the
browser is Debian's chromium driven by Playwright.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from experiments.cli import viz_command
from experiments.presentation.dashboard import DashboardModel, charts, draw, lever_policy
from model.model import InnovationModel
from model.params import BUDGET_SHARES, Policy
from model.scenario import load_scenario

#: one test worker runs this whole file (its module fixtures are built once)
pytestmark = pytest.mark.xdist_group("dashboard")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
SEED, STEPS = 4242, 12
CULL_S = 3
SHORT = (f'base = "grid_baseline.toml"\ndescription = "a short grid run for the dashboard '
         f'tests"\n[run]\nsteps = {STEPS}\nseed = {SEED}\n')


@pytest.fixture(scope="module")
def short_scenario(tmp_path_factory):
    path = tmp_path_factory.mktemp("scenario") / "short.toml"
    path.write_text(SHORT, encoding="utf-8")
    return str(path)


def test_lever_policy_keeps_the_budget_total_and_proportions():
    p = Policy()
    q = lever_policy(p, {"share_talent": 0.3})
    assert q.share_talent == 0.3
    assert sum(getattr(q, k) for k in BUDGET_SHARES) == pytest.approx(
        sum(getattr(p, k) for k in BUDGET_SHARES))
    assert q.share_platform / q.share_ip == pytest.approx(p.share_platform / p.share_ip)
    with pytest.raises(ValueError, match="more than"):
        lever_policy(p, {"share_talent": 0.6, "share_rd_subsidy": 0.6})


def test_the_dashboard_model_at_its_defaults_is_the_scenarios_run(short_scenario):
    d = DashboardModel(short_scenario)
    m = InnovationModel(short_scenario, collect_agents=False)
    assert d.seed == m.seed == SEED
    for _ in range(3):
        d.step()
        m.step()
    assert d.region_frame().equals(m.region_frame())
    other = DashboardModel(short_scenario, budget_multiplier=3.0)
    for _ in range(3):
        other.step()
    assert not other.region_frame().equals(m.region_frame())  # the lever acts


def test_the_yrd_dashboard_runs_its_scenarios_seed_and_draws_its_map():
    """The default scenario: its run.seed (20010101), not 1; its map has city labels,
    which are placed by measuring text (a figure without a canvas could not)."""
    m = DashboardModel("yrd_calibrated.toml")
    assert m.seed == load_scenario("yrd_calibrated.toml").seed == 20010101
    m.step()
    frame = draw(m)
    assert frame.step == 1
    # the index for people: model units and the first year not over yet (issue #14)
    assert frame.index_text.startswith("Mean index ") and "model units (MU)" in frame.index_text
    assert "no level at the end of the first year yet" in frame.index_text
    for png in (frame.map_png, frame.charts_png):
        assert png.startswith(b"\x89PNG") and len(png) > 10_000


def test_the_charts_span_the_run_in_whole_years_from_step_0(short_scenario):
    m = DashboardModel(short_scenario)
    for steps in (0, 3):
        while m.world.step < steps:
            m.step()
        fig = charts(m)
        for ax in fig.axes:
            assert ax.get_xlim() == (2001.0, 2001.0 + STEPS / 4)
            ticks = [t for t in ax.get_xticks() if 2001.0 <= t <= 2004.0]
            assert ticks == [2001.0, 2002.0, 2003.0, 2004.0]
        labels = [t.get_text() for t in fig.axes[1].get_xticklabels()]
        assert "2001" in labels and not any("." in s for s in labels), labels
    # a run shorter than a year still gets a year of axis
    short = DashboardModel(short_scenario, steps=2)
    assert charts(short).axes[1].get_xlim() == (2001.0, 2002.0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serves(url: str, proc: subprocess.Popen, timeout_s: float = 90) -> bool:
    """Wait until ``url`` answers 200; False if ``proc`` ends or the time runs out first."""
    deadline = time.monotonic() + timeout_s
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads), from /proc."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """The running dashboard server: its address, process and log (stderr)."""

    def __init__(self, url, proc, log):
        self.url, self.proc, self.log = url, proc, log

    def lines(self, pattern: str) -> list[str]:
        return [x for x in self.log.read_text(errors="replace").splitlines()
                if re.search(pattern, x)]


@pytest.fixture(scope="module")
def server(short_scenario, tmp_path_factory):
    port = _free_port()
    cmd, env = viz_command(short_scenario, port)
    env["SOLARA_KERNEL_CULL_TIMEOUT"] = f"{CULL_S}s"  # a page gone without a word: 3 s
    log = tmp_path_factory.mktemp("server") / "stderr.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    if not _serves(url, proc):
        proc.kill()
        pytest.fail(f"dashboard server did not start: {log.read_text()[-2000:]!r}")
    yield Server(url, proc, log)
    os.killpg(proc.pid, 15)
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is missing: ./dev setup installs it (apt-get install "
                    "chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


@pytest.fixture
def context(browser):
    """One browser profile (its tabs share the session cookie, as a user's tabs do)."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield ctx
    ctx.close()


def _open(context, server, query=""):
    pg = context.new_page()
    failed, requested = [], []
    pg.on("requestfailed", lambda r: failed.append(r.url))
    pg.on("request", lambda r: requested.append(r.url))
    pg.goto(server.url + query, wait_until="networkidle", timeout=90_000)
    pg.wait_for_selector("text=Step 0 of", timeout=60_000)
    pg.failed_requests, pg.requested = failed, requested
    return pg


def _chart(pg):
    return pg.locator("img").nth(1)


def _step_text(pg) -> str:
    return pg.locator(".innogrid-step").inner_text()


def _step(pg) -> int:
    return int(re.match(r"Step (\d+) of", _step_text(pg)).group(1))


def _click_step(pg, times: int):
    for _ in range(times):
        before = _step(pg)
        pg.get_by_role("button", name="Step").click()
        pg.wait_for_function(
            f"() => /Step {before + 1} of/.test(document.querySelector('.innogrid-step')"
            ".innerText)", timeout=30_000)


def _until_changed(pg, before: bytes, what, timeout_s=60) -> bytes:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = what()
        if now != before:
            return now
        pg.wait_for_timeout(250)
    return what()


def test_page_loads_offline_with_the_scenarios_seed_and_the_map_renders(context, server):
    page = _open(context, server)
    assert "innogrid: a short grid run" in page.locator("header, .v-toolbar").first.inner_text()
    assert _step_text(page) == f"Step 0 of {STEPS} (2001.00)"
    # the scenario's run.seed, shown, in the seed box and in the model that runs
    assert page.locator(".innogrid-seed").inner_text().startswith(f"Seed {SEED} ")
    assert page.get_by_label("seed").input_value() == str(SEED)
    imgs = page.locator("img")
    imgs.first.wait_for(timeout=60_000)
    assert imgs.count() >= 2  # the map and the charts
    box = imgs.first.bounding_box()
    assert box["width"] > 300 and box["height"] > 250
    assert len(imgs.first.screenshot()) > 5_000  # a drawn figure, not an empty box
    # every slider shows its value beside it; no stray "Page 0" tab
    values = page.locator(".innogrid-lever-value").all_inner_texts()
    assert values == ["0.10", "0.20", "0.10", "1.00", "0.50"]
    assert page.locator(".v-tab").count() == 0
    assert "page 0" not in page.locator("body").inner_text().lower()
    # offline: every request went to the local server (or is inline data), and none failed
    outside = [u for u in page.requested
               if not u.startswith(("http://127.0.0.1:", "ws://127.0.0.1:", "data:", "blob:"))]
    assert page.requested and not outside, outside
    assert not page.failed_requests


def test_stepping_and_a_lever_change_the_charts(context, server):
    page = _open(context, server)
    page.wait_for_timeout(500)
    start = _chart(page).screenshot()
    _click_step(page, 3)
    stepped = _until_changed(page, start, lambda: _chart(page).screenshot())
    assert stepped != start  # the time series grew
    # a lever: the innovation budget slider to its maximum (its value shows beside it),
    # then Reset (a new model at step 0 with the levers as they are set)
    lever = page.locator(".innogrid-lever", has_text="innovation budget")
    assert lever.locator(".innogrid-lever-value").inner_text() == "1.00"
    track = lever.locator(".v-slider").first
    b = track.bounding_box()
    page.mouse.click(b["x"] + b["width"] - 2, b["y"] + b["height"] / 2)
    page.wait_for_function("() => [...document.querySelectorAll('.innogrid-lever-value')]"
                           ".some(e => e.innerText == '3.00')", timeout=30_000)
    assert lever.locator(".innogrid-lever-value").inner_text() == "3.00"
    page.get_by_role("button", name="Reset").click()
    page.wait_for_selector("text=Step 0 of", timeout=30_000)
    reset = _until_changed(page, stepped, lambda: _chart(page).screenshot())
    assert reset != stepped
    _click_step(page, 3)
    pushed = _until_changed(page, reset, lambda: _chart(page).screenshot())
    assert pushed != reset
    page.wait_for_timeout(500)  # let the last redraw arrive
    pushed = _chart(page).screenshot()
    assert pushed != stepped  # the same three steps with tripled budgets: other charts


def test_every_tab_has_its_own_model_and_a_reload_starts_afresh(context, server):
    a = _open(context, server)
    _click_step(a, 2)
    b = _open(context, server)  # a second tab of the same browser
    assert _step(b) == 0
    _click_step(b, 1)
    a.wait_for_timeout(800)  # time for a shared model's redraw to reach the other tab
    assert _step(a) == 2 and _step(b) == 1
    a.reload(wait_until="networkidle")
    a.wait_for_selector("text=Step 0 of", timeout=60_000)
    b.wait_for_timeout(500)
    assert _step(a) == 0 and _step(b) == 1


def test_pause_holds_and_play_stops_at_the_last_step(context, server):
    page = _open(context, server)
    steps = page.get_by_label("steps (quarters)")
    steps.fill("4")
    steps.press("Enter")
    page.get_by_role("button", name="Reset").click()
    page.wait_for_selector("text=Step 0 of 4", timeout=30_000)
    page.get_by_role("button", name="Play").click()
    page.wait_for_selector("text=Step 1 of 4", timeout=60_000)
    page.get_by_role("button", name="Pause").click()  # Pause holds
    page.wait_for_selector("role=button[name='Play']", timeout=30_000)
    paused = _step(page)
    page.wait_for_timeout(1000)
    assert _step(page) == paused < 4
    page.get_by_role("button", name="Play").click()  # and Play goes on to the end
    page.wait_for_selector("text=Step 4 of 4", timeout=60_000)
    page.wait_for_timeout(1500)  # a runaway Play would have stepped on by now
    assert _step_text(page).startswith("Step 4 of 4")
    assert page.get_by_role("button", name="Play").is_disabled()
    assert page.get_by_role("button", name="Step").is_disabled()


def test_viz_ends_sessions_whose_page_vanished_after_30_s(monkeypatch):
    monkeypatch.delenv("SOLARA_KERNEL_CULL_TIMEOUT", raising=False)
    assert viz_command("grid_baseline.toml", 8765)[1]["SOLARA_KERNEL_CULL_TIMEOUT"] == "30s"
    monkeypatch.setenv("SOLARA_KERNEL_CULL_TIMEOUT", "2m")  # a user's own setting wins
    assert viz_command("grid_baseline.toml", 8765)[1]["SOLARA_KERNEL_CULL_TIMEOUT"] == "2m"


@pytest.mark.parametrize("query", ["", "?solara-no-close-beacon"],
                         ids=["tab closed", "page gone without a word"])
def test_a_tab_closed_while_playing_leaves_the_server_idle(context, server, query):
    """Closed: the page tells the server as it goes (Solara's close beacon). Gone without a
    word (a browser killed, the network lost; here the beacon is switched off): the
    session ends when Solara culls it, CULL_S seconds after its connection dropped."""
    page = _open(context, server, query)
    ended_before = len(server.lines("session ended"))
    page.get_by_role("button", name="Play").click()
    page.wait_for_selector("text=Step 2 of", timeout=60_000)
    pid = server.proc.pid
    page.close()
    deadline = time.monotonic() + 20 + CULL_S
    while len(ended := server.lines("session ended")) == ended_before:
        assert time.monotonic() < deadline, "the server did not see the session end"
        time.sleep(0.2)
    # it ended by the tab closing, before the run's last step, not at the end of the run
    k = int(re.search(r"session ended at step (\d+) of (\d+)", ended[-1]).group(1))
    assert 2 <= k < STEPS, ended[-1]
    time.sleep(0.5)
    cpu = _cpu_seconds(pid)
    time.sleep(3)
    idle = _cpu_seconds(pid) - cpu
    # a model still playing steps and draws two figures every 0.3 s: well over 0.3 s of CPU
    assert idle < 0.3, f"the server used {idle:.2f} s of CPU in 3 s with no tab open"


def test_bad_levers_and_seed_are_refused_with_a_message(context, server):
    page = _open(context, server)
    for label in ("talent subsidies", "R&D subsidies", "guidance funds"):
        b = page.locator(".innogrid-lever", has_text=label).locator(".v-slider").first
        box = b.bounding_box()
        page.mouse.click(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2)
    page.wait_for_function("() => [...document.querySelectorAll('.innogrid-lever-value')]"
                           ".slice(0, 3).every(e => e.innerText == '0.50')", timeout=30_000)
    page.get_by_role("button", name="Reset").click()
    alert = page.locator(".v-alert")
    alert.wait_for(timeout=30_000)
    assert "lever shares sum to 1.500, more than the budget's 1.000" in alert.inner_text()
    seed = page.get_by_label("seed")
    seed.fill("-5")
    seed.press("Enter")
    page.get_by_role("button", name="Reset").click()
    page.wait_for_selector("text=seed = -5: a whole number from 0 to 2**63-1", timeout=30_000)
    _click_step(page, 1)  # the model in place runs on
    assert page.locator(".innogrid-seed").inner_text().startswith(f"Seed {SEED} ")


def test_stopping_innogrid_viz_with_a_tab_playing_takes_its_server_with_it(browser,
                                                                          short_scenario):
    """SIGTERM to `innogrid viz` while a tab is connected and playing (an open websocket, a
    stepping thread): its `solara run` child goes too, and nothing serves on the port."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "experiments.cli", "viz", short_scenario,
                             "--port", str(port)], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children: list[int] = []
    try:
        url = f"http://127.0.0.1:{port}/"
        assert _serves(url, proc), "viz did not serve"
        children += [int(c) for c in
                     open(f"/proc/{proc.pid}/task/{proc.pid}/children").read().split()]
        assert len(children) == 1 and b"solara" in open(f"/proc/{children[0]}/cmdline",
                                                          "rb").read()
        ctx = browser.new_context()
        page = ctx.new_page()
        page.goto(url, wait_until="networkidle", timeout=90_000)
        page.get_by_role("button", name="Play").click()
        page.wait_for_selector("text=Step 1 of", timeout=60_000)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while _alive(children[0]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(children[0]), "the solara server outlived innogrid viz"
        with pytest.raises(OSError):
            urllib.request.urlopen(url, timeout=2)
        ctx.close()
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in children:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, ended but not yet reaped, does not)."""
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
