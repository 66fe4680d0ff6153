"""Interactive dashboard on Solara and Mesa: the city map by tier, lever sliders, live charts.

``innogrid viz [SCENARIO]`` serves it on 127.0.0.1 (``solara run`` on this module). It
works offline: the front-end assets come from the ``solara-assets`` package and
telemetry is switched off. The scenario is read from ``INNOGRID_VIZ_SCENARIO`` (default
``yrd_calibrated.toml``).

Every browser session (a tab; a reload is a new session) has its own model, built by the
``Page`` component when the session starts: two tabs never drive the same model. The
model starts as the scenario says, with its own ``run.seed`` and its levers.

Controls: Step (one quarter), Play / Pause (a step every ``PLAY_INTERVAL_S`` seconds, on
a thread of the session) and Reset (a new model at step 0 with the levers, the seed and
the number of steps as set). Play stops at the last step (the scenario's ``run.steps``,
or the steps set on the page) and when the session ends: the tab is closed (the page
says so to the server as it goes) or its connection is gone for longer than Solara's
kernel cull timeout (``innogrid viz`` sets 30 s). The server prints one line on stderr
when a session starts and when it ends.

Levers (sliders, each with its current value beside it; they act on Reset):

* ``share_talent``, ``share_rd_subsidy``, ``share_guidance``: budget shares of talent
  subsidies, R&D subsidies and guidance funds. The other instruments are rescaled so
  that all shares still sum to what they summed to (a reallocation, not more money);
* ``budget_multiplier``: every city's innovation budget (a government push);
* ``barrier_spill``: the spillover multiplier between provinces (1 = no barrier);
* ``corridor``: the corridor on (G60 in the YRD) from the start.

Charts: tier counts and the coefficient of variation over time, read from the model's
own per-step records, so they show exactly what ``innogrid run`` writes. Their time axis
spans the run, from the scenario's start year to its last step, in whole years.
"""

from __future__ import annotations

import io
import os
import sys
import threading
from dataclasses import dataclass, field, replace
from functools import cache

import matplotlib

matplotlib.use("Agg")
import pandas as pd  # noqa: E402
import solara  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from experiments.presentation.figures import (  # noqa: E402
    TIER_COLOURS,
    flush_labels,
    positions,
    tier_legend,
    tier_map_panel,
    when_label,
)
from experiments.presentation.numbers import index_summary  # noqa: E402
from model.model import InnovationModel  # noqa: E402
from model.params import BUDGET_SHARES, Policy  # noqa: E402
from model.scenario import RUN_KEYS, Scenario, load_scenario  # noqa: E402

__all__ = ["DashboardModel", "lever_policy", "lever_defaults", "city_map", "charts", "draw",
           "Page", "LEVERS", "PLAY_INTERVAL_S"]

LEVER_SHARES = ("share_talent", "share_rd_subsidy", "share_guidance")
PLAY_INTERVAL_S = 0.3  # between two steps while playing (the drawing comes on top)
SEED_RANGE = RUN_KEYS["seed"][1:]
STEPS_RANGE = RUN_KEYS["steps"][1:]


@dataclass(frozen=True)
class Lever:
    """A slider: the keyword of :class:`DashboardModel` it sets, its label and range."""

    name: str
    label: str
    low: float
    high: float
    step: float


LEVERS = (
    Lever("share_talent", "talent subsidies (budget share)", 0.0, 0.5, 0.05),
    Lever("share_rd_subsidy", "R&D subsidies (budget share)", 0.0, 0.5, 0.05),
    Lever("share_guidance", "guidance funds (budget share)", 0.0, 0.5, 0.05),
    Lever("budget_multiplier", "innovation budget (x status quo)", 0.5, 3.0, 0.25),
    Lever("barrier_spill", "spillovers across provinces (1 = no barrier)", 0.0, 1.0, 0.1),
)


def lever_policy(policy: Policy, levers: dict[str, float]) -> Policy:
    """``policy`` with the lever shares set and the other budget shares rescaled.

    The shares keep their old total: the rest of the budget is spread over the other
    instruments in their old proportions. Example: shares a = 0.2, b = 0.3, c = 0.5;
    setting a = 0.4 gives b = 0.6 * 0.3 / 0.8 = 0.225, c = 0.375.
    """
    total = sum(getattr(policy, k) for k in BUDGET_SHARES)
    set_sum = sum(levers.values())
    if set_sum > total + 1e-12:
        raise ValueError(f"lever shares sum to {set_sum:.3f}, more than the budget's "
                         f"{total:.3f}")
    others = [k for k in BUDGET_SHARES if k not in levers]
    rest = sum(getattr(policy, k) for k in others)
    scale = (total - set_sum) / rest if rest > 0 else 0.0
    new = {k: getattr(policy, k) * scale for k in others}
    return policy.replace(**levers, **new)


def lever_defaults(sc: Scenario) -> dict[str, float | bool]:
    """The levers as the scenario sets them (its default policy and parameters)."""
    return {"share_talent": sc.policy.share_talent,
            "share_rd_subsidy": sc.policy.share_rd_subsidy,
            "share_guidance": sc.policy.share_guidance,
            "budget_multiplier": sc.policy.budget_multiplier,
            "barrier_spill": sc.params.barrier_spill,
            "corridor": sc.policy.corridor_active}


class DashboardModel(InnovationModel):
    """The model with its policy levers as keyword arguments.

    A lever left at ``None`` keeps the scenario's value, ``seed=None`` is the scenario's
    ``run.seed`` and ``steps=None`` its ``run.steps`` (the step at which ``running``
    turns False, and Play stops).
    """

    def __init__(self, scenario_name: str = "yrd_calibrated.toml", seed: int | None = None,
                 share_talent: float | None = None, share_rd_subsidy: float | None = None,
                 share_guidance: float | None = None, budget_multiplier: float | None = None,
                 barrier_spill: float | None = None, corridor: bool | None = None,
                 steps: int | None = None):
        sc = load_scenario(scenario_name)
        given = {"share_talent": share_talent, "share_rd_subsidy": share_rd_subsidy,
                 "share_guidance": share_guidance, "budget_multiplier": budget_multiplier,
                 "barrier_spill": barrier_spill, "corridor": corridor}
        lv = {**lever_defaults(sc), **{k: v for k, v in given.items() if v is not None}}
        policy = lever_policy(sc.policy, {k: lv[k] for k in LEVER_SHARES})
        policy = policy.replace(budget_multiplier=lv["budget_multiplier"],
                                corridor_active=bool(lv["corridor"]))
        sc = replace(sc.with_overrides(steps=steps, params={"barrier_spill": lv["barrier_spill"]}),
                     policy=policy)
        self.scenario_name = scenario_name
        super().__init__(sc, seed=seed, collect_agents=False)


@cache
def _scenario(name: str) -> Scenario:
    return load_scenario(name)


def _scenario_name() -> str:
    return os.environ.get("INNOGRID_VIZ_SCENARIO", "yrd_calibrated.toml")


def city_map(model: InnovationModel) -> Figure:
    """Cities coloured by tier, drawn by the figures' own panel (maps or grid heatmap)."""
    fig = Figure(figsize=(6.4, 5.2))
    FigureCanvasAgg(fig)  # placing the city labels measures text: it needs a renderer
    ax = fig.subplots()
    geo, c = model.geo, model.city
    snap = pd.DataFrame({"city": geo.cities, "tier": c.tier, "index": c.index,
                         "rank": c.rank + 1})
    pos, kind = positions(geo, geo.cities)
    tier_map_panel(ax, snap, pos, kind, label_top=6)
    tier_legend(ax, fontsize=7, loc="lower right")
    ax.set_title(f"{geo.name}: tiers, {when_label(model.world.year, model.world.step)}",
                 fontsize=10)
    fig.tight_layout()
    flush_labels(fig)
    return fig


def charts(model: InnovationModel) -> Figure:
    """Tier counts and the coefficient of variation over time.

    The time axis runs from the start year to the year of the run's last step (at least
    one year), ticked in whole years, from step 0 on.
    """
    region = model.region_frame()
    start = model.params.start_year
    end = start + max(model.config.steps, 4) / 4.0
    fig = Figure(figsize=(6.4, 5.2))
    ax1, ax2 = fig.subplots(2, 1, sharex=True)
    for t in (1, 2, 3, 4):
        ax1.plot(region["year"], region[f"tier_{t}"], color=TIER_COLOURS[t], label=f"tier {t}",
                 marker="o" if len(region) == 1 else None)
    ax1.set(ylabel="cities", title="Tier counts")
    ax1.set_ylim(bottom=0)
    ax1.legend(fontsize=7, ncol=4)
    ax2.plot(region["year"], region["cv"], color="#0072B2",
             marker="o" if len(region) == 1 else None)
    ax2.set(xlabel="year", ylabel="CV of the index", title="Dispersion (coefficient of variation)")
    ax2.set_xlim(start, end)
    ax1.yaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in (ax1, ax2):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # 2001, 2002: no 2001.2
        ax.xaxis.get_major_formatter().set_useOffset(False)
    fig.tight_layout()
    return fig


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


@dataclass(frozen=True)
class Frame:
    """What the page shows of a model at one step: the map and the charts as PNG."""

    model: InnovationModel = field(repr=False)  # compared by identity
    step: int
    map_png: bytes
    charts_png: bytes
    index_text: str = ""  # the mean index in MU and on the studies' scale


def draw(model: InnovationModel) -> Frame:
    """The map and the charts of ``model`` as it stands, and its mean index for people."""
    region = model.region_frame()
    return Frame(model, model.world.step, _png(city_map(model)), _png(charts(model)),
                 "Mean index " + index_summary(region["step"], region["mean_index"]))


def _log(message: str) -> None:
    print(f"innogrid viz: {message}", file=sys.stderr, flush=True)


@dataclass
class Session:
    """What one browser session's threads share: a lock around its model, and its end.

    ``generation`` counts the Resets and pauses: Play's thread shows a step only if none
    came since it started, so a Reset is never overdrawn by the old model.
    """

    lock: threading.Lock = field(default_factory=threading.Lock)
    ended: threading.Event = field(default_factory=threading.Event)
    model: InnovationModel | None = None
    generation: int = 0

    def end(self) -> None:
        """Stop for good (idempotent): Play's thread sees it before its next step.

        Takes no lock: Solara calls it while closing the kernel, with the kernel's lock held.
        """
        if self.ended.is_set():
            return
        self.ended.set()
        m = self.model
        if m is not None:
            _log(f"session ended at step {m.world.step} of {m.config.steps}; its model is "
                 "stopped")


def _on_session_close(session: Session):
    """Effect: end the session when Solara closes its kernel (tab closed, or culled)."""
    try:
        from solara.server import kernel_context

        kernel_context.get_current_context().on_close(session.end)
    except Exception:  # no server kernel (a test rendering the page): the cleanup suffices
        pass
    return session.end  # the page is unmounted


@solara.component
def LeverSlider(lever: Lever, value: float, on_value):
    """A lever: its label, and the slider with its current value beside it."""
    with solara.Column(gap="0px", classes=["innogrid-lever"]):
        solara.Text(lever.label, style={"font-size": "0.9em"})
        with solara.Row(style={"align-items": "center"}):
            with solara.Column(style={"flex": "1 1 auto", "min-width": "0"}):
                solara.SliderFloat("", value=value, on_value=on_value, min=lever.low,
                                   max=lever.high, step=lever.step, thumb_label=False)
            solara.Text(f"{value:.2f}", classes=["innogrid-lever-value"],
                        style={"min-width": "3em", "text-align": "right"})


@solara.component
def Page():
    """The dashboard of one browser session.

    The figures are drawn by whatever moved the model (Play's thread, a click), not while
    the page renders: a render is then quick, so a render in progress in another thread
    never keeps re-running while Play steps (its updates would wait for it).
    """
    name = _scenario_name()
    sc = _scenario(name)
    session = solara.use_memo(Session, [])
    levers = solara.use_reactive(lever_defaults(sc))
    seed = solara.use_reactive(sc.seed)
    steps = solara.use_reactive(sc.steps)
    error = solara.use_reactive("")
    playing = solara.use_reactive(False)

    def first_model():
        m = DashboardModel(name, seed=sc.seed, steps=sc.steps)
        session.model = m
        _log(f"session started: {name}, seed {m.seed}, {m.config.steps} steps")
        return m, draw(m)

    first, first_frame = solara.use_memo(first_model, [])
    model = solara.use_reactive(first)
    frame = solara.use_reactive(first_frame)
    solara.use_effect(lambda: _on_session_close(session), [])
    m = model.value

    def play(cancel: threading.Event):
        """Step every PLAY_INTERVAL_S until paused, the last step or the session's end."""
        if not playing.value:
            return
        generation = session.generation
        while not cancel.wait(PLAY_INTERVAL_S):
            with session.lock:
                if session.ended.is_set() or session.generation != generation or not m.running:
                    break
                m.step()
                drawn = draw(m)
            if session.ended.is_set() or session.generation != generation:
                break
            try:
                frame.set(drawn)
            except Exception:
                if session.ended.is_set():  # the kernel closed under us: nothing to draw on
                    break
                raise
        if not (session.ended.is_set() or cancel.is_set() or session.generation != generation):
            playing.set(False)  # the last step: Play shows as stopped

    solara.use_thread(play, dependencies=[playing.value, id(m)], intrusive_cancel=False)

    def play_pause():
        if playing.value:
            session.generation += 1  # stop at once, not after one more step
        playing.set(not playing.value)

    def step_once():
        with session.lock:
            if session.ended.is_set() or not m.running:
                return
            m.step()
            drawn = draw(m)
        frame.set(drawn)

    def reset():
        if not SEED_RANGE[0] <= seed.value <= SEED_RANGE[1]:
            error.set(f"seed = {seed.value}: a whole number from 0 to 2**63-1")
            return
        if not STEPS_RANGE[0] <= steps.value <= STEPS_RANGE[1]:
            error.set(f"steps = {steps.value}: a whole number from 1 to 10,000")
            return
        try:
            new = DashboardModel(name, seed=seed.value, steps=steps.value, **levers.value)
        except ValueError as e:
            error.set(f"cannot reset: {e}")
            return
        error.set("")
        with session.lock:
            session.generation += 1
            session.model = new
        playing.set(False)
        model.set(new)
        frame.set(draw(new))

    # a step of the old model that Play's thread drew just as Reset came is not shown
    shown = solara.use_memo(lambda: frame.value if frame.value.model is m else draw(m),
                            [frame.value, id(m)])

    with solara.AppBar():
        solara.AppBarTitle(f"innogrid: {sc.description or name}")

    with solara.Sidebar():
        with solara.Card("Controls"):
            with solara.Row(justify="space-between"):
                solara.Button("Reset", color="primary", on_click=reset)
                solara.Button("Pause" if playing.value else "Play", color="primary",
                              on_click=play_pause, disabled=not m.running)
                solara.Button("Step", color="primary", on_click=step_once,
                              disabled=playing.value or not m.running)
            if error.value:
                solara.Error(error.value)
        with solara.Card("Levers (applied on Reset)"):
            def set_lever(name, value):
                levers.set({**levers.value, name: value})

            for lever in LEVERS:
                LeverSlider(lever, levers.value[lever.name],
                            lambda v, name=lever.name: set_lever(name, v))
            solara.Checkbox(label="corridor on (G60 in the YRD)",
                            value=levers.value["corridor"],
                            on_value=lambda v: set_lever("corridor", v))
            solara.InputInt("seed", value=seed)
            solara.InputInt("steps (quarters)", value=steps)
        with solara.Card("Information"), solara.Column(gap="4px"):
            solara.Text(f"Step {shown.step} of {m.config.steps} "
                        f"({m.params.start_year + shown.step / 4:.2f})",
                        classes=["innogrid-step"])
            solara.Text(f"Seed {m.seed}" + (" (the scenario's run.seed)" if m.seed == sc.seed
                                            else ""), classes=["innogrid-seed"])
            solara.Text(shown.index_text, classes=["innogrid-index"])
            solara.Text(f"Scenario {name}")

    with solara.Columns([1, 1]):
        solara.Image(shown.map_png)
        solara.Image(shown.charts_png)
