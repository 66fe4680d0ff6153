"""Figures of one run (matplotlib, colour-blind-safe palette, labelled units)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["baseline_figures", "TIER_COLOURS"]

#: Okabe-Ito colours for tiers 1-4 (colour-blind safe).
TIER_COLOURS = {1: "#D55E00", 2: "#E69F00", 3: "#56B4E9", 4: "#999999"}


def baseline_figures(out: Any, directory: Path) -> list[Path]:
    """Tier map at the final step, tier counts over time, dispersion over time."""
    directory.mkdir(parents=True, exist_ok=True)
    cities, region = out.cities, out.region
    paths = []
    last = cities[cities["step"] == cities["step"].max()]
    model_geo = out.metadata.get("geography", "")
    fig, ax = plt.subplots(figsize=(6, 5))
    if model_geo == "yrd":
        from model.geography import yrd

        geo = yrd()
        pos = {c: (geo.x[i], geo.y[i]) for i, c in enumerate(geo.cities)}
        xs = np.array([pos[c][0] for c in last["city"]])
        ys = np.array([pos[c][1] for c in last["city"]])
        ax.set_xlabel("longitude (°E)")
        ax.set_ylabel("latitude (°N)")
    else:
        xs = np.arange(len(last)) % 32
        ys = np.arange(len(last)) // 32
        ax.set_xlabel("city")
    size = 30 + 300 * np.sqrt(last["index"] / max(last["index"].max(), 1e-12))
    for t in (4, 3, 2, 1):
        sel = (last["tier"] == t).to_numpy()
        ax.scatter(xs[sel], ys[sel], s=size[sel], c=TIER_COLOURS[t], label=f"tier {t}",
                   edgecolors="black", linewidths=0.5)
    if model_geo == "yrd":
        top = last.nsmallest(9, "rank")
        for _, r in top.iterrows():
            ax.annotate(r["city"], pos[r["city"]], fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
    year = float(last["year"].iloc[0])
    when = f"end of {int(year) - 1}" if year.is_integer() else f"{year:.2f}"
    ax.set_title(f"Innovation tiers, {when} (step {int(last['step'].iloc[0])})")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    paths.append(directory / "tiers_map.png")
    fig.savefig(paths[-1], dpi=150)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for t in (1, 2, 3, 4):
        axes[0].plot(region["year"], region[f"tier_{t}"], color=TIER_COLOURS[t], label=f"tier {t}")
    axes[0].set_xlabel("year")
    axes[0].set_ylabel("number of cities")
    axes[0].set_title("Tier counts")
    axes[0].legend(fontsize=8)
    for col, colour in (("cv", "#0072B2"), ("gini", "#009E73"), ("theil", "#CC79A7"),
                        ("morans_i", "#000000")):
        axes[1].plot(region["year"], region[col], color=colour, label=col)
    axes[1].set_xlabel("year")
    axes[1].set_ylabel("index (unitless)")
    axes[1].set_title("Dispersion and spatial autocorrelation")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    paths.append(directory / "tiers_and_dispersion.png")
    fig.savefig(paths[-1], dpi=150)
    plt.close(fig)
    return paths
