"""Interactive dashboard on Mesa's SolaraViz: the city map by tier, lever sliders, live charts.

``innogrid viz [SCENARIO]`` serves it on 127.0.0.1 (``solara run`` on this module). It
works offline: the front-end assets come from the ``solara-assets`` package and
telemetry is switched off. The scenario is read from ``INNOGRID_VIZ_SCENARIO`` (default
``yrd_calibrated.toml``).

Levers (sliders; changing one rebuilds the model at step 0 with the same seed):

* ``share_talent``, ``share_rd_subsidy``, ``share_guidance``: budget shares of talent
  subsidies, R&D subsidies and guidance funds. The other instruments are rescaled so
  that all shares still sum to what they summed to (a reallocation, not more money);
* ``budget_multiplier``: every city's innovation budget (a government push);
* ``barrier_spill``: the spillover multiplier between provinces (1 = no barrier);
* ``corridor``: the corridor on (G60 in the YRD) from the start.

Charts: tier counts and the coefficient of variation over time, read from the model's
own per-step records, so they show exactly what ``innogrid run`` writes.
"""

from __future__ import annotations

import os
from dataclasses import replace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import solara  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from mesa.visualization import Slider, SolaraViz  # noqa: E402
from mesa.visualization.utils import update_counter  # noqa: E402

from experiments.presentation.figures import (  # noqa: E402
    TIER_COLOURS,
    flush_labels,
    positions,
    tier_legend,
    tier_map_panel,
)
from model.model import InnovationModel  # noqa: E402
from model.params import BUDGET_SHARES, Policy  # noqa: E402
from model.scenario import load_scenario  # noqa: E402

__all__ = ["DashboardModel", "lever_policy", "page", "Page"]

LEVER_SHARES = ("share_talent", "share_rd_subsidy", "share_guidance")


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


class DashboardModel(InnovationModel):
    """The model with its policy levers as keyword arguments (for SolaraViz sliders)."""

    def __init__(self, scenario_name: str = "yrd_calibrated.toml", seed: int = 1,
                 share_talent: float = 0.1, share_rd_subsidy: float = 0.2,
                 share_guidance: float = 0.1, budget_multiplier: float = 1.0,
                 barrier_spill: float = 0.5, corridor: bool = False):
        sc = load_scenario(scenario_name)
        policy = lever_policy(sc.policy, {"share_talent": share_talent,
                                          "share_rd_subsidy": share_rd_subsidy,
                                          "share_guidance": share_guidance})
        policy = policy.replace(budget_multiplier=budget_multiplier, corridor_active=corridor)
        sc = replace(sc.with_overrides(params={"barrier_spill": barrier_spill}), policy=policy)
        self.scenario_name = scenario_name
        super().__init__(sc, seed=seed, collect_agents=False)


def _defaults(scenario_name: str) -> dict:
    sc = load_scenario(scenario_name)
    return {"share_talent": sc.policy.share_talent, "share_rd_subsidy": sc.policy.share_rd_subsidy,
            "share_guidance": sc.policy.share_guidance, "barrier_spill": sc.params.barrier_spill}


def model_params(scenario_name: str) -> dict:
    """SolaraViz parameters: the scenario and seed fixed, the levers as sliders."""
    d = _defaults(scenario_name)
    return {
        "scenario_name": scenario_name,
        "seed": {"type": "InputText", "value": 1, "label": "seed"},
        "share_talent": Slider("talent subsidies (budget share)", d["share_talent"], 0.0,
                               0.5, 0.05),
        "share_rd_subsidy": Slider("R&D subsidies (budget share)", d["share_rd_subsidy"],
                                   0.0, 0.5, 0.05),
        "share_guidance": Slider("guidance funds (budget share)", d["share_guidance"], 0.0,
                                 0.5, 0.05),
        "budget_multiplier": Slider("innovation budget (x status quo)", 1.0, 0.5, 3.0, 0.25),
        "barrier_spill": Slider("spillovers across provinces (1 = no barrier)",
                                d["barrier_spill"], 0.0, 1.0, 0.1),
        "corridor": {"type": "Checkbox", "value": False, "label": "corridor on (G60)"},
    }


def city_map(model: InnovationModel) -> Figure:
    """Cities coloured by tier, drawn by the figures' own panel (maps or grid heatmap)."""
    fig = Figure(figsize=(6.4, 5.2))
    ax = fig.subplots()
    geo, c = model.geo, model.city
    snap = pd.DataFrame({"city": geo.cities, "tier": c.tier, "index": c.index,
                         "rank": c.rank + 1})
    pos, kind = positions(geo, geo.cities)
    tier_map_panel(ax, snap, pos, kind, label_top=6)
    tier_legend(ax, fontsize=7, loc="lower right")
    ax.set_title(f"{geo.name}: tiers at {model.world.year:.2f} (step {model.world.step})",
                 fontsize=10)
    fig.tight_layout()
    flush_labels(fig)
    return fig


def charts(model: InnovationModel) -> Figure:
    """Tier counts and the coefficient of variation over time."""
    region = model.region_frame()
    fig = Figure(figsize=(6.4, 5.2))
    ax1, ax2 = fig.subplots(2, 1, sharex=True)
    for t in (1, 2, 3, 4):
        ax1.plot(region["year"], region[f"tier_{t}"], color=TIER_COLOURS[t], label=f"tier {t}")
    ax1.set(ylabel="cities", title="Tier counts")
    ax1.legend(fontsize=7, ncol=4)
    ax2.plot(region["year"], region["cv"], color="#0072B2")
    ax2.set(xlabel="year", ylabel="CV of the index", title="Dispersion (coefficient of variation)")
    fig.tight_layout()
    return fig


@solara.component
def CityMap(model):
    """SolaraViz component: the map (redrawn at every step)."""
    update_counter.get()  # subscribes the component to SolaraViz's step counter
    solara.FigureMatplotlib(city_map(model), dependencies=[model.world.step, id(model)])


@solara.component
def Charts(model):
    """SolaraViz component: the live charts (redrawn at every step)."""
    update_counter.get()
    solara.FigureMatplotlib(charts(model), dependencies=[model.world.step, id(model)])


def page(scenario_name: str | None = None):
    """The SolaraViz page for a scenario (default: ``INNOGRID_VIZ_SCENARIO``)."""
    name = scenario_name or os.environ.get("INNOGRID_VIZ_SCENARIO", "yrd_calibrated.toml")
    model = DashboardModel(scenario_name=name, **{k: v for k, v in _defaults(name).items()})
    return SolaraViz(model, components=[CityMap, Charts], model_params=model_params(name),
                     name=f"innogrid: {load_scenario(name).description or name}",
                     play_interval=300)


plt.close("all")
Page = page()

