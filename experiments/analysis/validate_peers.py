"""Out-of-sample check: the YRD calibration carried to the peers geography.

``python -m experiments.analysis.validate_peers [--scenario peers_calibrated.toml] [--seeds N]
[--out docs/validation/peers]`` runs a peers scenario (by default ``peers_calibrated.toml``:
the peers' documented policy history with the parameters calibrated on the YRD, taken by
``params_from``) over N replicate seeds and writes ``validation.json``. No fact of the
twelve peer cities entered any calibration, so every score here is out of sample:

- the 2021 GDP shares against the shipped 2021 GDPs (mean absolute log error), beside the
  persistence null's (2001 shares), and how the shares moved (sd and correlation of the
  changes in log share, city by city);
- where residents went by 2021 against the 2020 census, beside the null's (2000 census);
- the cross-city order of R&D intensity in 2020 (the model's R&D spending over output in
  2020, each city) against the shipped 2020 intensities (Spearman rank correlation; the
  null has nothing to rank);
- the catch-up the studies describe: Chengdu's and Shenzhen's GDP relative to Shanghai's,
  2001 and 2021, model and data;
- the twelve cities' real output growth 2001-2021 against the shipped GDPs deflated by the
  shipped deflator.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.analysis.compare import replicate_seeds
from experiments.analysis.patterns import END_2021, real_gdp_growth_fact, score_null, score_run
from experiments.analysis.validate import spread
from experiments.running.cache import cached_run
from experiments.running.output import OutputError, check_output_dir, output_dir
from experiments.running.run import process_pool
from model.scenario import ScenarioError, load_scenario

__all__ = ["validate_peers", "peer_scores", "rd_order", "catch_up"]

#: the cities whose catch-up the studies describe, each against Shanghai
CATCH_UP = ("Chengdu", "Shenzhen")


def rd_order(cities: pd.DataFrame, geo, year: int = 2020) -> float:
    """Spearman rank correlation of the cities' R&D intensity in ``year`` with the data's.

    The model's intensity of a city is its R&D spending over its output, summed over the
    year's recorded quarters (a common unit factor does not change ranks). Example: spending
    [1, 4, 2] on output [1, 2, 4] -> [1, 2, 0.5], against data [2, 3, 1] -> 1.0.
    """
    rows = cities[np.floor(cities["year"] - 0.25).astype(int) == year]
    g = rows.groupby("city")[["rd_spent", "gdp"]].sum().reindex(list(geo.cities))
    model = (g["rd_spent"] / g["gdp"]).to_numpy(dtype=float)
    return float(pd.Series(model).rank().corr(pd.Series(geo.extra["rd_intensity_2020"]).rank()))


def catch_up(gdp: np.ndarray, geo, cities=CATCH_UP, leader: str = "Shanghai") -> dict:
    """Each named city's GDP over the leader's, in the given GDPs (e.g. 2021's)."""
    i = geo.index(leader)
    return {c: float(gdp[geo.index(c)] / gdp[i]) for c in cities if c in geo.cities}


def peer_scores(cities: pd.DataFrame, region: pd.DataFrame, geo) -> dict:
    """One run's out-of-sample scores (84 steps from 2001)."""
    base = score_run(cities, region, geo)
    last = cities[cities["step"] == END_2021].set_index("city").reindex(list(geo.cities))
    keep = ("gdp_share_male", "gdp_share_change_sd", "gdp_share_change_corr",
            "resident_share_male", "resident_change_corr", "real_gdp_growth", "gdp_cv_2021")
    return {**{k: base[k] for k in keep if k in base},
            "rd_order_2020": rd_order(cities, geo),
            "catch_up_2021": catch_up(last["gdp"].to_numpy(dtype=float), geo)}


def _one(args: tuple) -> dict:
    sc, seed = args
    r = cached_run(sc, seed)
    return peer_scores(r.cities, r.region, sc.geography)


def validate_peers(scenario: str = "peers_calibrated.toml", seeds: int = 20, root: int = 4242,
                   out: str | Path = "docs/validation/peers", jobs: int = 1) -> dict:
    """Run ``scenario`` over ``seeds`` seeds and write ``validation.json`` to ``out``."""
    check_output_dir(out)
    sc = load_scenario(scenario)
    geo = sc.geography
    seed_list = replicate_seeds(root, seeds)
    args = [(sc, s) for s in seed_list]
    if jobs > 1:
        with process_pool(jobs) as ex:
            scores = list(ex.map(_one, args))
    else:
        scores = [_one(a) for a in args]
    null = score_null(geo)
    fact_gdp = geo.extra["gdp_2021"]
    result = {
        "scenario": scenario, "seeds": seed_list, "root_seed": root,
        "params": {k: v for k, v in sc.raw.get("params", {}).items()},
        **{k: spread([s[k] for s in scores]) for k in scores[0] if k != "catch_up_2021"},
        "catch_up_2021": {c: spread([s["catch_up_2021"][c] for s in scores])
                          for c in scores[0]["catch_up_2021"]},
        "catch_up_fact": {"2001": catch_up(geo.gdp, geo), "2021": catch_up(fact_gdp, geo)},
        "real_gdp_growth_fact": real_gdp_growth_fact(geo),
        "null": {k: null[k] for k in ("gdp_share_male", "resident_share_male") if k in null},
    }
    with output_dir(out, "validation") as tmp:
        (tmp / "validation.json").write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    from experiments.cli import JOBS, REPLICATES, SEED, _Parser

    ap = _Parser(prog="experiments.analysis.validate_peers",
                 description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="peers_calibrated.toml")
    ap.add_argument("--seeds", type=REPLICATES, default=20)
    ap.add_argument("--root-seed", type=SEED, default=4242)
    ap.add_argument("--out", default="docs/validation/peers")
    ap.add_argument("--jobs", type=JOBS, default=1, help="worker processes")
    a = ap.parse_args()
    try:
        res = validate_peers(a.scenario, a.seeds, a.root_seed, a.out, a.jobs)
    except (OutputError, ScenarioError) as e:
        print(f"experiments.analysis.validate_peers: error: {e}", file=sys.stderr)
        sys.exit(2)
    print(json.dumps({k: v for k, v in res.items() if k not in ("seeds", "params")}, indent=1))
