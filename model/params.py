"""Typed, frozen parameters of the innovation model.

Every field carries its unit, valid range and source in its metadata, next to its
value, so that documentation, validation, scenario files and sensitivity analysis read
one table. ``source`` is one of: ``"assumption"`` (no data, a modelling choice),
``"calibrated"`` (set by the calibration procedure in experiments/), or the study or
statistic the value comes from.

Two kinds of parameters:

* :class:`Params` — global mechanism parameters (one value per run).
* :class:`Policy` — a city government's policy settings. Each city has one; scenario
  files override them for all cities, a province, or named cities, from a given year.

Money is in *model money units* (MU): one MU is one talent agent's wage for one quarter
at the base wage. City GDP is kept in its real unit (100 million CNY) and converted with
the derived sample scale (see ``model.init``).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["Params", "Policy", "ParamError", "param_table", "unknown_key", "SECTORS",
           "STAGES", "REFERENCE_TALENT"]

#: Sample size at which initial knowledge, platforms and research output take their nominal
#: values; they scale with ``n_talent / REFERENCE_TALENT`` so that a larger sample of agents
#: describes the same region (innovation value, budgets and platforms built all scale with it).
REFERENCE_TALENT = 20_000
#: Hospers' typology of city industry, used as firm sector too.
SECTORS: tuple[str, ...] = ("high_tech", "manufacturing", "service", "creative")
#: Firm life-cycle stages.
STAGES: tuple[str, ...] = ("startup", "scaleup", "mature")


class ParamError(ValueError):
    """A parameter value that is of the wrong type or outside its allowed range.

    Attributes
    ----------
    key : str
        The parameter's name.
    value : Any
        The offending value.
    allowed : str
        A description of what is allowed.
    """

    def __init__(self, key: str, value: Any, allowed: str):
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(f"{key} = {value!r}: {allowed}")


def p(default: Any, unit: str, lo: float | None, hi: float | None, source: str, doc: str) -> Any:
    """Declare a parameter field with its unit, valid range ``[lo, hi]`` and source."""
    kind = type(default[0]) if isinstance(default, tuple) else type(default)
    return field(
        default=default,
        metadata={"unit": unit, "lo": lo, "hi": hi, "source": source, "doc": doc, "kind": kind},
    )


def _check(key: str, value: Any, meta: dict, length: int | None) -> Any:
    """Validate one value against its metadata; return it normalised (ints to floats etc.)."""
    kind, lo, hi = meta["kind"], meta["lo"], meta["hi"]
    rng = f"in [{lo}, {hi}]" if lo is not None else "any value"
    if length is not None:
        if not isinstance(value, (tuple, list)) or len(value) != length:
            raise ParamError(key, value, f"a list of {length} numbers {rng} ({meta['unit']})")
        return tuple(_check(key, v, meta, None) for v in value)
    if kind is bool:
        if not isinstance(value, bool):
            raise ParamError(key, value, "true or false")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParamError(key, value, f"an integer {rng}")
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParamError(key, value, f"a number {rng}")
        value = float(value)
        if not math.isfinite(value):
            raise ParamError(key, value, f"a finite number {rng}")
    elif kind is str:
        if not isinstance(value, str):
            raise ParamError(key, value, "a string")
        return value
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ParamError(key, value, f"a {'integer' if kind is int else 'number'} {rng}")
    return value


def unknown_key(key: str, known) -> str:
    """What is allowed instead of an unknown key: the closest names first, then the rest.

    A short list is given whole; a long one (the 100-odd parameters) as its closest matches
    (or the names that start like the key) and where the full list is, so the error stays
    one readable line. Example: ``unknown_key("innov_ratee", ["innov_rate",
    "innov_value"])`` -> ``"unknown key; did you mean 'innov_rate'? allowed: ['innov_rate',
    'innov_value']"``.
    """
    names = sorted(known)
    close = difflib.get_close_matches(str(key), names, n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    if len(names) <= 12:
        return f"unknown key; {hint}allowed: {names}"
    listed = ", ".join(names)
    if hint or len(listed) > 1500:  # an error line stays readable: point to the table
        same = [n for n in names if n[:3] == str(key)[:3]] if not hint else []
        also = f" (starting like it: {', '.join(same)})" if same else ""
        return (f"unknown key; {hint}allowed: one of {len(names)} names{also}, listed in "
                "docs/ODD.md, Appendix B")
    return f"unknown key; allowed: one of {len(names)} names: {listed}"


class _Validated:
    """Mixin: range/type validation on construction and typed overrides."""

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            length = len(f.default) if isinstance(f.default, tuple) else None
            object.__setattr__(self, f.name, _check(f.name, v, f.metadata, length))
        self._check_cross()

    def _check_cross(self) -> None:
        """Constraints between fields; overridden where needed."""

    def replace(self, **overrides: Any):
        """Return a copy with ``overrides`` applied and validated; unknown keys raise."""
        known = {f.name for f in fields(self)}  # type: ignore[arg-type]
        for k in overrides:
            if k not in known:
                raise ParamError(k, overrides[k], unknown_key(k, known))
        return dataclasses.replace(self, **overrides)  # type: ignore[type-var]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of all values (tuples as lists), for metadata and TOML."""
        return {
            f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
            for f in fields(self)  # type: ignore[arg-type]
        }


@dataclass(frozen=True)
class Params(_Validated):
    """Global mechanism parameters. See docs/ODD.md section 7 for each submodel."""

    # --- population scale and time -------------------------------------------------
    n_talent: int = p(20_000, "agents", 10, 50_000_000, "assumption",
                      "Talent agents in the region (each may stand for a cohort).")
    n_firms: int = p(5_000, "agents", 1, 10_000_000, "assumption",
                     "Firms at the start.")
    n_funds: int = p(200, "agents", 0, 100_000, "assumption",
                     "Private venture-capital funds at the start.")
    start_year: int = p(2001, "year", 1950, 2100, "assumption", "Calendar year of step 0.")
    init_knowledge_elasticity: float = p(1.2, "1", 0.0, 3.0, "assumption",
                                         "Initial knowledge stock ~ (GDP / mean GDP)^this.")
    init_vc_elasticity: float = p(1.5, "1", 0.0, 3.0, "assumption",
                                  "Initial VC funds are homed with probability ~ GDP^this.")
    init_platforms: float = p(10.0, "platforms", 0.0, 1e5, "assumption (Shanghai had 22, "
                              "Shenzhen 18, Chengdu 9 high-level open platforms)",
                              "Platforms of a city with the mean GDP at the start (~ GDP), at the "
                              "reference sample of 20,000 talent agents.")
    talent_output_share: float = p(0.05, "share", 1e-4, 0.5, "assumption",
                                   "Share of city GDP paid as wages to the innovative workforce; "
                                   "sets the sample scale MU per 100m CNY of GDP.")
    init_research_share: float = p(0.5, "share", 0.0, 1.0, "assumption",
                                   "Share of the initial knowledge stock and platforms that "
                                   "follows the city's research capacity (universities, "
                                   "institutes, key labs, facilities: model/data/research_2001.csv)"
                                   " rather than its output.")
    research_weights: tuple[float, ...] = p((1.0, 3.0, 2.0, 2.0, 5.0), "university-equivalents",
                                            0.0, 100.0, "assumption",
                                            "Weights of the research capacity index: universities,"
                                            " key (Project 211) universities, CAS institutes, "
                                            "state key laboratories, large facilities.")
    # --- city economy: production (submodel grow) ---------------------------------
    capital_share: float = p(0.4, "share", 0.0, 0.9, "capital share of output ~0.4-0.5 in "
                             "China (Bai, Hsieh & Qian 2006, Brookings Papers on Economic "
                             "Activity 2006(2))", "Output elasticity of physical capital (alpha).")
    savings_rate: float = p(0.4, "share of output", 0.0, 0.9, "gross capital formation was "
                            "about 36-47% of China's GDP 2001-2021 (NBS)",
                            "Share of city output invested in the city's physical capital.")
    capital_depreciation: float = p(0.025, "1/quarter", 0.0, 0.2, "about 10%/yr (Bai, Hsieh & "
                                    "Qian 2006 use 10%)", "Quarterly depreciation of capital.")
    init_capital_output: float = p(2.5, "years of output", 0.1, 20.0, "China's capital-output "
                                   "ratio about 2.5-3 around 2000 (Bai, Hsieh & Qian 2006)",
                                   "Capital stock at the start relative to annual output.")
    tfp_knowledge_elasticity: float = p(0.2, "1", 0.0, 1.0, "elasticity of TFP to R&D capital "
                                        "0.08-0.23 (Coe & Helpman 1995, European Economic "
                                        "Review 39)", "Elasticity of city productivity (TFP) to "
                                        "the knowledge it can use, own plus absorbed spillovers "
                                        "(diminishing returns when < 1).")
    wage_elasticity: float = p(0.5, "1", 0.0, 2.0, "assumption",
                               "Elasticity of the city wage to its output per head relative to "
                               "the region (the regional wage level follows the income level).")
    catch_up_rate: float = p(0.005, "1/quarter", 0.0, 0.1, "assumption (the technology-gap "
                             "term of Nelson & Phelps 1966, AER 56, and Benhabib & Spiegel 1994,"
                             " J. Monetary Econ. 34)", "Speed at which a city's TFP closes its "
                             "log gap to the frontier, at full absorptive capacity.")
    zone_tfp_gain: float = p(0.1, "log TFP", 0.0, 1.0, "a national economic zone raises "
                             "city GDP by about 20% (Alder, Shao & Zilibotti 2016, J. Economic "
                             "Growth 21): ln 1.2 x (1 - capital_share) = 0.11 in TFP once "
                             "capital has adjusted; the studies span 0.03-0.2 (ODD 7.11)",
                             "Log TFP gain of a city's first national high-tech zone, reached "
                             "over zone_ramp_years after its approval (grow); the n-th zone "
                             "brings the city to this times log2(1 + n).")
    zone_ramp_years: float = p(5.0, "years", 0.0, 50.0, "firm productivity rises over the "
                               "first five years of a new high-tech zone (Howell 2019, J. "
                               "Regional Science 59)", "Years over which a new zone's TFP gain "
                               "builds up, linearly (0: at once).")
    resident_mobility: float = p(0.0, "1/year", 0.0, 1.0, "assumption",
                                 "Residents' migration (settle): the share of a city's "
                                 "residents moving per year per unit of log gap in output per "
                                 "head to a better-off city; 0 holds every city at the 2000 "
                                 "census.")
    resident_distance_km: float = p(300.0, "km", 1.0, 5000.0, "assumption",
                                    "Distance decay of a moving resident's destination choice "
                                    "(settle).")
    resident_barrier: float = p(1.0, "1", 0.0, 20.0, "assumption",
                                "Log penalty on a resident's destination across a provincial "
                                "border still standing (settle: hukou, family, language).")
    capital_favoritism: float = p(0.0, "1", 0.0, 1.0, "assumption; the mechanism: capital-"
                                  "market favoritism toward cities higher in the "
                                  "administrative hierarchy lowers their cost of capital and "
                                  "raises their growth (Chen, Henderson and Cai 2017, J. Urban "
                                  "Economics 98: 69-87)",
                                  "Share of the savings of a city that is not its province's "
                                  "capital invested in that capital (grow); 0 invests every "
                                  "city's savings at home.")
    resident_inflow: float = p(0.0, "1/year", 0.0, 0.1, "assumption; for scale: 124.8 million "
                               "people lived outside their home province at the 2020 census, "
                               "8.9% of China's population (NBS, Seventh Census Communique "
                               "No. 7, 2021)",
                               "Newcomers from the rest of China (settle): residents arriving "
                               "per year as a share of the region's residents; 0 closes the "
                               "region.")
    resident_inflow_elasticity: float = p(1.0, "1", 0.0, 10.0, "assumption",
                                          "Elasticity of a newcomer's destination weight (the "
                                          "city's residents times this power of its output "
                                          "per head relative to the mean; settle).")
    revenue_income_elasticity: float = p(0.5, "1", 0.0, 2.0, "assumption (as wage_elasticity)",
                                         "Elasticity of a firm's revenue per employee to its "
                                         "city's output per head relative to the region "
                                         "(local productivity and demand).")
    rent_base: float = p(0.3, "MU/talent/quarter", 0.0, 10.0, "assumption",
                         "Cost of living/land per talent at mean density and the start's "
                         "income level.")
    congestion_elasticity: float = p(0.6, "1", 0.0, 3.0, "assumption",
                                     "Elasticity of rent to talent density (congestion).")
    # --- government ---------------------------------------------------------------
    budget_rate: float = p(0.01, "share of GDP", 0.0, 0.1, "assumption (public S&T spending "
                           "is of the order of 0.5-1% of GDP in China, NBS)",
                           "Innovation-policy budget as a share of GDP.")
    firm_tax_rate: float = p(0.15, "share of profit", 0.0, 0.5, "China high-tech enterprise "
                             "income-tax rate 15%", "Tax on firm profits, paid to the city budget.")
    platform_cost: float = p(500.0, "MU/platform", 1.0, 1e7, "assumption, set so that the "
                             "status-quo platform budget (share_platform) sustains about the "
                             "initial stock against platform_depreciation",
                             "Cost of one unit of research infrastructure (lab, incubator).")
    platform_depreciation: float = p(0.01, "1/quarter", 0.0, 0.2, "assumption",
                                     "Share of infrastructure lost per quarter.")
    platform_knowledge: float = p(1.25, "knowledge/platform/quarter", 0.0, 100.0,
                                  "assumption: over a platform's life (1/platform_depreciation "
                                  "quarters) 0.25 knowledge per MU of its cost, the order of "
                                  "the innovation value firms make per MU of R&D (~0.35)",
                                  "Knowledge produced by one platform per quarter.")
    basic_research_productivity: float = p(0.25, "knowledge/MU", 0.0, 10.0, "assumption: the "
                                           "same return per MU as platforms",
                                           "Knowledge created per MU of basic-research funding.")
    research_output: float = p(0.04, "knowledge/university-equivalent/quarter", 0.0, 100.0,
                               "assumption: at the start it renews the research part of the "
                               "knowledge stock against knowledge_depreciation",
                               "Knowledge produced per quarter by centrally funded research "
                               "(universities, institutes, labs, facilities) per unit of "
                               "research capacity relative to the mean, per 100 knowledge units "
                               "of the reference sample; grows with the income level.")
    research_basic_elasticity: float = p(0.5, "1", 0.0, 3.0, "assumption",
                                         "Elasticity of basic-research productivity to the "
                                         "city's research capacity per unit of output "
                                         "relative to the region.")
    pool_lapse: float = p(1.0, "share", 0.0, 1.0, "assumption (annual budgets: unspent "
                          "money returns to the general budget at the end of the fiscal year)",
                          "Share of the unspent innovation budget and earmarked pools (talent, "
                          "R&D subsidy, procurement) that lapses to other public uses at the end "
                          "of each year; the SME credit pool revolves and does not lapse.")
    competition_intensity: float = p(0.0, "1", 0.0, 1.0, "assumption",
                                     "Negative competition: how far a government raises its talent "
                                     "and project offers toward its most generous neighbour's.")
    competition_radius_km: float = p(300.0, "km", 1.0, 5000.0, "assumption",
                                     "Distance within which governments compete.")
    culture_response: float = p(50.0, "1/(share of GDP)", 0.0, 1e4, "assumption",
                                "Speed at which culture/IP spending raises culture and IP levels.")
    culture_decay: float = p(0.005, "1/quarter", 0.0, 0.2, "assumption",
                             "Quarterly relaxation of culture and IP levels toward their start.")
    # --- knowledge and spillovers --------------------------------------------------
    knowledge_depreciation: float = p(0.04, "1/quarter", 0.0, 0.5, "R&D capital depreciation "
                                      "~15%/yr (Griliches); 1-0.96^4 = 15%",
                                      "Quarterly loss of city knowledge.")
    index_depreciation: float = p(0.025, "1/quarter", 0.0, 0.5, "assumption (patent value "
                                  "decay ~10%/yr)",
                                  "Quarterly decay of the innovation index stock.")
    spill_decay_km: float = p(150.0, "km", 1.0, 5000.0, "assumption",
                              "e-folding distance of knowledge spillovers.")
    spill_rate: float = p(0.2, "1", 0.0, 5.0, "assumption",
                          "Weight of distance-decayed external knowledge relative to own.")
    barrier_spill: float = p(0.5, "multiplier", 0.0, 1.0, "assumption",
                             "Spillover multiplier between provinces (1 = no barrier).")
    corridor_distance_factor: float = p(0.5, "multiplier", 0.05, 1.0, "assumption",
                                        "Effective-distance multiplier between two corridor cities "
                                        "when the corridor is active.")
    hsr_distance_factor: float = p(1.0, "multiplier", 0.05, 1.0, "assumption (1: no effect "
                                   "until calibrated); high-speed rail brought new cross-city "
                                   "co-author pairs (Dong, Zheng and Kahn 2018, NBER WP 24539)",
                                   "Effective-distance multiplier between two cities that both "
                                   "have a station on the high-speed rail network "
                                   "(hsr_station).")
    collab_spill_boost: float = p(1.0, "1", 0.0, 20.0, "assumption",
                                  "Spillover boost per unit of past collaboration intensity.")
    absorb_half: float = p(0.5, "knowledge/talent", 1e-6, 1e6, "assumption",
                           "Knowledge per talent at which absorptive capacity is one half.")
    # --- innovation ---------------------------------------------------------------
    rd_intensity: tuple[float, ...] = p((0.08, 0.02, 0.015, 0.04), "share of revenue", 0.0, 0.5,
                                        "assumption (R&D/revenue by sector)",
                                        "Firm R&D intensity by sector "
                                        "(high_tech, manufacturing, service, creative).")
    rd_subsidy_max: float = p(0.5, "share of R&D", 0.0, 1.0, "assumption",
                              "Largest share of a firm's R&D the subsidy pool reimburses.")
    rd_price_elasticity: float = p(1.0, "1", 0.0, 2.0, "price elasticity of R&D about -1 "
                                   "(Hall & Van Reenen 2000, Research Policy 29; Bloom, "
                                   "Griffith & Van Reenen 2002, J. Public Econ. 85)",
                                   "Elasticity of R&D demand to its user cost (subsidy and "
                                   "tax relief lower the cost of each MU of R&D).")
    innov_rate: float = p(0.005, "innovations/quarter", 0.0, 10.0,
                          "assumption (a free parameter of experiments/yrd_calibration.toml)",
                          "Innovation rate (lambda) of a firm with unit inputs; see innovate.")
    innovation_capacity: float = p(1.0, "innovations/employee/quarter", 1.0, 1000.0,
                                   "assumption (a sampled employee stands for many people, "
                                   "so the ceiling is not a per-person fact)",
                                   "Most innovations one employee yields in a quarter: the "
                                   "draw is Binomial(floor(capacity x staff), 1 - exp(-lambda "
                                   "/ trials)), so the expected count saturates at capacity x "
                                   "staff; see innovate.")
    elast_rd: float = p(0.9, "1", 0.0, 1.5, "own-R&D elasticity of patents ~0.85-1 across "
                        "firms (Hausman, Hall & Griliches 1984, Econometrica 52)",
                        "Elasticity of innovation to R&D (real R&D effort).")
    elast_talent: float = p(0.3, "1", 0.0, 1.5, "assumption",
                            "Elasticity of innovation to the skill of the firm's staff.")
    elast_capability: float = p(0.2, "1", 0.0, 1.5, "assumption",
                                "Elasticity of innovation to the firm's own knowledge.")
    elast_knowledge: float = p(0.3, "1", 0.0, 1.5, "assumption",
                               "Elasticity of innovation to local plus spilled-over knowledge.")
    innov_value: tuple[float, ...] = p((3.0, 1.5, 1.0, 2.0), "MU", 0.0, 1000.0, "assumption",
                                       "Mean value of one innovation by sector (high_tech, "
                                       "manufacturing, service, creative).")
    innov_value_sigma: float = p(1.0, "1", 0.0, 3.0, "assumption (patent values are "
                                 "lognormal, Harhoff et al.)", "Log-sd of innovation value.")
    rd_capability_elasticity: float = p(0.1, "1", 0.0, 1.0, "assumption (R&D intensity "
                                        "rises with firm capability)",
                                        "Elasticity of a firm's R&D intensity to (1 + its "
                                        "capability).")
    learning_rate: float = p(0.1, "capability/MU", 0.0, 2.0, "assumption",
                             "Firm capability gained per MU of own innovation value.")
    p_collab: float = p(0.1, "probability", 0.0, 1.0, "assumption",
                        "Probability an innovation is co-invented with another city when half "
                        "the knowledge the city uses is external and it has no collaboration "
                        "network yet.")
    collab_network_elasticity: float = p(2.0, "1", 0.0, 50.0, "assumption",
                                         "Rise of the co-invention probability per unit of the "
                                         "city's collaboration network (its summed pair "
                                         "intensities).")
    rel_intermediary: float = p(1.0, "1", 0.0, 10.0, "assumption",
                                "Innovation-rate boost at full technology-intermediary coverage.")
    zone_innovation_gain: float = p(0.0, "1", 0.0, 5.0, "assumption on the size; the "
                                    "direction: national high-tech zones raise their city's "
                                    "innovation output and entrepreneurship (Tian and Xu "
                                    "2022, Review of Finance 26: 595-635, staggered zone "
                                    "approvals)",
                                    "Relative rise of firms' innovation rate in a city with "
                                    "one national high-tech zone (innovate); n zones give "
                                    "log2(1 + n) times it; 0 leaves zones to TFP alone.")
    rel_ip_value: float = p(0.5, "1", 0.0, 1.0, "assumption",
                            "Share of innovation value lost to imitation without IP protection.")
    # --- firms --------------------------------------------------------------------
    productivity: float = p(1.6, "MU/employee/quarter", 0.1, 20.0, "assumption",
                            "Revenue per employee of a firm with zero capability.")
    capability_return: float = p(0.3, "1", 0.0, 1.0, "assumption",
                                 "Elasticity of revenue per employee to firm capability.")
    target_staff: tuple[float, ...] = p((2.0, 6.0, 20.0, 6.0), "employees", 1.0, 1e5,
                                        "assumption", "Target employees by stage "
                                        "(startup, scale-up, mature; last entry unused).")
    hire_speed: float = p(0.3, "1/quarter", 0.0, 1.0, "assumption",
                          "Share of the gap to target staff a firm tries to close per quarter.")
    scaleup_capability: float = p(5.0, "capability", 0.0, 1e6, "assumption",
                                  "Capability at which a startup becomes a scale-up.")
    mature_capability: float = p(30.0, "capability", 0.0, 1e7, "assumption",
                                 "Capability at which a scale-up becomes mature.")
    p_found: float = p(0.002, "1/quarter", 0.0, 0.1, "assumption",
                       "Base probability that a talent agent founds a startup per quarter.")
    found_culture_elast: float = p(1.0, "1", 0.0, 5.0, "assumption",
                                   "Elasticity of founding to innovation culture.")
    found_vc_elast: float = p(0.5, "1", 0.0, 5.0, "assumption",
                              "Elasticity of founding to local VC availability.")
    startup_cash: float = p(20.0, "MU", 0.0, 1e5, "assumption", "Founder's starting cash.")
    p_relocate_review: float = p(0.02, "1/quarter", 0.0, 1.0, "assumption",
                                 "Share of firms that review their location each quarter.")
    relocate_knowledge_weight: tuple[float, ...] = p((0.5, 0.25, 0.0, 0.0), "1", 0.0, 5.0,
                                                     "assumption: young firms seek knowledge, "
                                                     "mature production seeks low costs",
                                                     "Weight of knowledge access in a firm's "
                                                     "location value by stage (startup, "
                                                     "scale-up, mature; last unused).")
    relocate_threshold: float = p(0.3, "log utility", 0.0, 10.0, "assumption",
                                  "Moving cost: utility bonus of staying in the firm's "
                                  "logit location choice.")
    p_staff_follow: float = p(0.5, "probability", 0.0, 1.0, "assumption",
                              "Probability an employee moves with a relocating firm.")
    credit_rate: float = p(0.01, "1/quarter", 0.0, 0.2, "assumption",
                           "Interest on low-interest government loans to tech SMEs.")
    credit_repay: float = p(0.05, "1/quarter", 0.0, 1.0, "assumption",
                            "Share of outstanding debt repaid per quarter when cash allows.")
    # --- venture capital ----------------------------------------------------------
    fund_size: float = p(3_000.0, "MU", 0.0, 1e9, "assumption", "Mean size of a first fund.")
    deploy_rate: float = p(0.08, "1/quarter", 0.0, 1.0, "assumption",
                           "Share of a fund's dry powder it seeks to invest per quarter.")
    vc_reach_km: float = p(200.0, "km", 1.0, 5000.0, "assumption",
                           "e-folding distance of a fund's home bias.")
    barrier_vc: float = p(0.4, "multiplier", 0.0, 1.0, "assumption",
                          "Investment-reach multiplier across provinces (1 = no barrier).")
    ticket: tuple[float, ...] = p((50.0, 300.0, 1000.0, 100.0), "MU", 1.0, 1e8, "assumption",
                                  "Deal size by stage (startup, scale-up, mature; last unused).")
    screen_noise: float = p(0.5, "1", 0.0, 5.0, "assumption",
                            "Noise in the signal of firm quality funds screen on (log-sd).")
    exit_rate: float = p(0.03, "1/quarter", 0.0, 1.0, "assumption",
                         "Exit (IPO/acquisition) probability of a VC-backed mature firm.")
    exit_multiple: float = p(0.5, "MU/capability", 0.0, 1e4, "assumption",
                             "Exit proceeds per unit of the firm's capability.")
    fund_life: int = p(40, "quarters", 4, 200, "assumption (10-year VC funds)",
                       "Length of a fund vintage; then the next fund is raised.")
    fund_growth_elast: float = p(1.0, "1", 0.0, 3.0, "assumption",
                                 "Elasticity of next fund size to the vintage's multiple.")
    fund_max_growth: float = p(3.0, "multiplier", 1.0, 100.0, "assumption",
                               "Cap on next fund size relative to the current one.")
    guidance_leverage: float = p(3.0, "MU private/MU public", 0.0, 20.0, "assumption (guidance "
                                 "funds target 1:3-1:5 leverage)",
                                 "Private money levered per unit of guidance-fund money.")
    migrate_before_hire: bool = p(False, "flag", None, None, "assumption (an ordering choice)",
                                  "Schedule migration before hiring and founding, so movers "
                                  "can find a job in their new city the same quarter.")
    # --- talent migration ---------------------------------------------------------
    p_search: float = p(0.05, "1/quarter", 0.0, 1.0, "assumption",
                        "Share of talent that considers moving each quarter.")
    beta_wage: float = p(2.0, "utility/log wage", 0.0, 20.0, "assumption", "Wage weight.")
    beta_opportunity: float = p(0.5, "utility/log jobs", 0.0, 20.0, "assumption",
                                "Weight of career opportunity (firms and peers).")
    beta_amenity: float = p(1.0, "utility/unit", 0.0, 20.0, "assumption", "Amenity weight.")
    beta_culture: float = p(1.0, "utility/unit", 0.0, 20.0, "assumption", "Culture weight.")
    beta_cost: float = p(1.0, "utility/log cost", 0.0, 20.0, "assumption", "Cost-of-living weight.")
    beta_subsidy: float = p(1.0, "utility/MU-quarter", 0.0, 20.0, "assumption",
                            "Weight of the talent subsidy (per quarter of wage).")
    beta_distance: float = p(0.5, "utility/100 km", 0.0, 20.0, "assumption",
                             "Distance disutility of moving.")
    beta_barrier: float = p(1.0, "utility", 0.0, 20.0, "assumption",
                            "Disutility of crossing a provincial border (hukou etc.).")
    graduate_rate: float = p(0.012, "1/quarter", 0.0, 0.2, "assumption (China's R&D "
                             "personnel grew about sixfold 2001-2021, NBS / MOST statistics)",
                             "Talent entering the region's workforce from its universities and "
                             "institutes per quarter, as a share of the initial talent stock; "
                             "spread over cities by their universities (key universities "
                             "count rel_key_graduates times).")
    rel_key_graduates: float = p(2.0, "universities", 0.0, 20.0, "assumption",
                                 "Graduates of a key (Project 211) university relative to an "
                                 "ordinary one.")
    inflow_rate: float = p(0.008, "1/quarter", 0.0, 0.2, "assumption",
                           "Talent arriving from the rest of China per quarter, as a share of "
                           "the initial talent stock; spread over cities in proportion to "
                           "their residents times exp(migration utility): size and "
                           "attractiveness (wage, opportunity, amenity, culture, cost, subsidy).")
    p_talent_exit: float = p(0.006, "1/quarter", 0.0, 0.2, "assumption (a career of about 40 "
                             "years)", "Probability a talent agent leaves the workforce or "
                             "the region per quarter (retirement, emigration).")
    beta_stay: float = p(3.0, "utility", 0.0, 50.0, "assumption",
                         "Utility of staying put (moving costs, ties).")

    def _check_cross(self) -> None:
        if self.capital_share + self.talent_output_share >= 1.0:
            raise ParamError("capital_share", self.capital_share,
                             f"capital_share + talent_output_share "
                             f"({self.talent_output_share}) must be < 1 (the residents' share "
                             f"of output is what is left)")
        if self.mature_capability < self.scaleup_capability:
            raise ParamError("mature_capability", self.mature_capability,
                             f"must be >= scaleup_capability ({self.scaleup_capability})")


#: Budget-share fields of :class:`Policy`; their sum must not exceed 1.
BUDGET_SHARES: tuple[str, ...] = (
    "share_rd_subsidy", "share_talent", "share_guidance", "share_credit", "share_platform",
    "share_basic_research", "share_ip", "share_culture", "share_procurement",
    "share_intermediary", "share_lead", "share_lead_fund",
)


@dataclass(frozen=True)
class Policy(_Validated):
    """A city government's policy settings (one per city; scenarios override them)."""

    share_rd_subsidy: float = p(0.2, "share of budget", 0.0, 1.0, "assumption",
                                "Budget share reimbursing firms' R&D.")
    share_talent: float = p(0.1, "share of budget", 0.0, 1.0, "assumption",
                            "Budget share for talent attraction (settlement, housing).")
    share_guidance: float = p(0.1, "share of budget", 0.0, 1.0, "assumption",
                              "Budget share put into the city's guidance fund.")
    share_credit: float = p(0.05, "share of budget", 0.0, 1.0, "assumption",
                            "Budget share lent to tech SMEs at low interest.")
    share_platform: float = p(0.2, "share of budget", 0.0, 1.0, "assumption",
                              "Budget share building labs, incubators, open platforms.")
    share_basic_research: float = p(0.15, "share of budget", 0.0, 1.0, "assumption",
                                    "Budget share funding basic research.")
    share_ip: float = p(0.05, "share of budget", 0.0, 1.0, "assumption",
                        "Budget share for IP protection.")
    share_culture: float = p(0.05, "share of budget", 0.0, 1.0, "assumption",
                             "Budget share building innovation culture.")
    share_procurement: float = p(0.05, "share of budget", 0.0, 1.0, "assumption",
                                 "Budget share of public procurement of innovative products.")
    share_intermediary: float = p(0.05, "share of budget", 0.0, 1.0, "assumption",
                                  "Budget share for technology intermediaries.")
    share_lead: float = p(0.0, "share of budget", 0.0, 1.0, "assumption",
                          "Budget share invested in platforms of the lead-target cities.")
    share_lead_fund: float = p(0.0, "share of budget", 0.0, 1.0, "assumption",
                               "Budget share the city puts into the guidance funds of its "
                               "lead-target cities (co-funded, levered like its own).")
    lead_targets: str = p("", "city names", None, None, "assumption",
                          "Comma-separated cities this city invests in ('core leads').")
    tax_relief: float = p(0.0, "share of R&D", 0.0, 2.0, "assumption (China's R&D "
                          "super-deduction: 75% from 2018, 100% for manufacturing from 2021)",
                          "R&D super-deduction: share of a firm's R&D deducted a second time "
                          "from its taxable profit.")
    angel_risk_share: float = p(0.0, "share of loss", 0.0, 1.0, "assumption",
                                "Share of VC losses on failed startups reimbursed by government.")
    entry_ease: float = p(0.0, "1", 0.0, 5.0, "assumption",
                          "Lowered entry thresholds: relative increase of startup founding.")
    joint_centres: float = p(0.0, "1", 0.0, 5.0, "assumption",
                             "University-industry joint centres: share of platform knowledge "
                             "firms absorb directly as capability.")
    intermediary_efficiency: float = p(1.0, "1/(MU per firm)", 0.0, 100.0, "assumption: "
                                       "status-quo spending (about 0.1 MU per firm and quarter) "
                                       "buys about 10% coverage",
                                       "Intermediary coverage bought per MU spent per alive firm "
                                       "in the city: coverage = 1 - exp(-this * spend / firms).")
    platform_sharing: float = p(0.0, "share", 0.0, 1.0, "assumption",
                                "Share of the city's platforms open to other cities (cooperation).")
    corridor_active: bool = p(False, "flag", None, None, "assumption",
                              "Corridor on: corridor cities' mutual distances shrink.")
    budget_multiplier: float = p(1.0, "multiplier", 0.0, 20.0, "assumption",
                                 "Scales the city's innovation budget (a government push).")
    otc_market: float = p(0.0, "1", 0.0, 1.0, "assumption (Tokyo's OTC market for tech SMEs)",
                          "Over-the-counter market for tech SMEs: extra exit hazard, as a share "
                          "of exit_rate, for VC-backed startups and scale-ups in the city.")
    integration: float = p(0.0, "share", 0.0, 1.0, "assumption; dated by the historical "
                           "scenario (YRD integration, G60 measures)",
                           "Share of the administrative barriers between provinces (to "
                           "spillovers, VC, talent and firm moves) lifted between this city and "
                           "every other city that has it too (the pair lifts the smaller of "
                           "the two shares).")
    state_investment_cny: float = p(0.0, "100m CNY/year", 0.0, 1e6, "sourced amounts in the "
                                    "historical scenario (model/data/POLICY_HISTORY.md)",
                                    "State-led industrial investment in the city (e.g. Hefei's "
                                    "stakes in BOE, Changxin, NIO), at the prices of the year, "
                                    "added to its physical capital; financed outside the "
                                    "innovation budget.")
    extra_guidance_cny: float = p(0.0, "100m CNY/year", 0.0, 1e6, "sourced amounts in the "
                                  "historical scenario", "A programme's money put into the "
                                  "city's guidance fund on top of the budget shares, at the "
                                  "prices of the year.")
    extra_talent_cny: float = p(0.0, "100m CNY/year", 0.0, 1e6, "sourced amounts in the "
                                "historical scenario", "A talent programme's money added to the "
                                "city's talent pool on top of the budget shares.")
    extra_platform_cny: float = p(0.0, "100m CNY/year", 0.0, 1e6, "sourced amounts in the "
                                  "historical scenario", "A programme's money for platforms "
                                  "(labs, science centres, facilities) on top of the budget "
                                  "shares.")
    extra_basic_research_cny: float = p(0.0, "100m CNY/year", 0.0, 1e6, "sourced amounts in "
                                        "the historical scenario", "A programme's money for "
                                        "basic research (e.g. a provincial lab) on top of the "
                                        "budget shares.")
    hightech_zones: int = p(0, "zones", 0, 50, "State Council approvals in the historical "
                            "scenario (model/data/POLICY_HISTORY.md)",
                            "National high-tech industrial development zones in the city (a "
                            "dated input); each new one raises the city's TFP (grow, "
                            "zone_tfp_gain), and every one its firms' innovation rate "
                            "(innovate, zone_innovation_gain).")
    hsr_station: bool = p(False, "flag", None, None, "dated by the historical scenario "
                          "(model/data/POLICY_HISTORY.md)",
                          "The city has a station on the high-speed rail network (a dated "
                          "input); distances between two such cities are multiplied by "
                          "hsr_distance_factor.")
    vc_cross_region: float = p(0.0, "1", 0.0, 1.0, "assumption",
                               "Financial synergy: share of the cross-province VC barrier removed "
                               "for funds based in this city.")

    def _check_cross(self) -> None:
        total = sum(getattr(self, k) for k in BUDGET_SHARES)
        if total > 1.0 + 1e-9:
            raise ParamError("share_*", round(total, 6),
                             f"budget shares ({', '.join(BUDGET_SHARES)}) must sum to <= 1")


def param_table(cls: type = Params) -> list[dict[str, Any]]:
    """Rows (name, default, unit, lo, hi, source, doc) for docs and sensitivity specs."""
    return [
        {"name": f.name, "default": f.default, **{k: v for k, v in f.metadata.items()
                                                  if k != "kind"}}
        for f in fields(cls)
    ]


def _fmt(v: Any) -> str:
    if isinstance(v, tuple):
        return "(" + ", ".join(_fmt(x) for x in v) + ")"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return f"{v:g}"
    return str(v) if v != "" else '""'


def markdown_param_table(cls: type) -> str:
    """The parameter table of ``cls`` as markdown (docs/ODD.md Appendix B is generated)."""
    lines = ["| name | default | unit | range | source | meaning |", "|---|---|---|---|---|---|"]
    for r in param_table(cls):
        rng = f"[{_fmt(r['lo'])}, {_fmt(r['hi'])}]" if r["lo"] is not None else "—"
        lines.append(f"| `{r['name']}` | {_fmt(r['default'])} | {r['unit']} | {rng} | "
                     f"{r['source']} | {r['doc']} |")
    return "\n".join(lines)


def update_odd(path: str = "docs/ODD.md") -> bool:
    """Rewrite the generated tables between the ``<!-- params:NAME -->`` markers.

    Returns True if the file changed. Run ``python -m model.params`` after changing a field.
    """
    import re
    from pathlib import Path

    p = Path(path)
    text = p.read_text(encoding="utf-8")
    new = text
    for cls in (Params, Policy):
        tag = cls.__name__
        pat = re.compile(rf"(<!-- params:{tag} -->\n).*?(\n<!-- /params:{tag} -->)", re.S)
        new = pat.sub(lambda m, c=cls: m.group(1) + markdown_param_table(c) + m.group(2), new)
    if new != text:
        p.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    print("docs/ODD.md", "updated" if update_odd() else "already up to date")
