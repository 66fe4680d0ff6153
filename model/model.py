"""InnovationModel: the Mesa model whose ``step()`` is the ODD process overview."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import mesa
import numpy as np
import pandas as pd

from model import observe
from model import state as state_file
from model.entities import FirmView, Government, TalentView, VentureFund, World
from model.geography import build_space
from model.init import build_world
from model.scenario import Scenario, load_scenario
from model.submodels.found import found
from model.submodels.govern import govern
from model.submodels.grow import grow
from model.submodels.hire import hire
from model.submodels.innovate import innovate
from model.submodels.invest import invest
from model.submodels.migrate import migrate
from model.submodels.operate import operate
from model.submodels.relocate import relocate
from model.submodels.renew import renew
from model.submodels.settle import settle
from model.submodels.spill import spill

__all__ = ["InnovationModel", "CITY_COLUMNS", "REGION_COLUMNS", "last_step"]

#: Columns of the per-city output table (one row per step and city).
CITY_COLUMNS = (
    "step", "year", "city", "province", "index", "tier", "rank", "knowledge", "external",
    "talent", "firms", "vc_invested", "rd_spent", "innovations", "innov_value", "gdp", "wage",
    "rent", "residents",
    "platforms", "culture", "ip", "talent_in", "talent_out", "talent_entered", "talent_left",
    "founded", "failed", "local_moran", "lisa",
)
#: Columns of the per-step regional output table.
REGION_COLUMNS = (
    "step", "year", "mean_index", "cv", "gini", "theil", "theil_between", "theil_within",
    "morans_i", "tier_1", "tier_2", "tier_3", "tier_4", "spillover_share", "collab_index",
    "talent_migration", "talent_cross_province", "vc_invested", "vc_cross_province",
    "rd_spent", "rd_subsidy", "innovations", "firms_alive", "founded", "failed", "exits",
    "gdp", "income_level", "rd_intensity", "talent", "graduates", "talent_inflow",
    "talent_exit", "lapsed", "residents_moved", "residents_arrived",
    *observe.COLLAB_INDICATORS,
)


class InnovationModel(mesa.Model):
    """City innovation systems on a grid or a real map.

    Parameters
    ----------
    scenario : Scenario or path, optional
        Defaults to ``scenarios/yrd_baseline.toml``.
    seed : int, optional
        Root seed; defaults to the scenario's ``run.seed``. The model's one numpy
        Generator (``self.rng``) is built from it and passed to every submodel.
    collect_agents : bool
        Also collect per-government rows in the Mesa ``DataCollector`` (small cost).
    **params
        Parameter overrides by name (any field of ``Params``), validated like a scenario
        file's ``[params]``: a bad name or value raises ``ScenarioError``. So Mesa's own
        ``mesa.batch_run(InnovationModel, parameters={"innov_rate": [...]}, rng=[...])``
        works; ``running`` turns False at the scenario's last step.

    Examples
    --------
    >>> m = InnovationModel(seed=1)        # doctest: +SKIP
    >>> m.step(); m.city_view("Hefei")     # doctest: +SKIP
    >>> InnovationModel("grid_baseline.toml", seed=2, innov_rate=0.01)  # doctest: +SKIP
    """

    #: The model's own recorded data (beyond ``world``), saved in a state file.
    RECORDED: ClassVar[tuple[str, ...]] = ("_city_rows", "_region_rows", "_history", "_tracked")

    def __init__(self, scenario: Scenario | str | None = None, seed: int | None = None,
                 collect_agents: bool = True, **params: Any):
        if scenario is None:
            scenario = "yrd_baseline.toml"
        if not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario)
        if params:
            scenario = scenario.with_overrides(params=params)
        self._build(scenario, int(scenario.seed if seed is None else seed), collect_agents)
        self._observe()

    def _build(self, scenario: Scenario, seed: int, collect_agents: bool,
               world: World | None = None) -> None:
        """Everything but the first observation; ``world``: a restored state (``load``)."""
        self.config = scenario
        self.seed = seed
        super().__init__(rng=np.random.default_rng(np.random.SeedSequence(self.seed)))
        self.geo = scenario.geography
        self.params = scenario.params
        self._active_rules: tuple[int, ...] | None = None
        year = self.params.start_year if world is None else world.year
        self.policy, self._active_rules = scenario.policy_at(year)
        if world is None:
            world = build_world(self.params, self.geo, self.policy, self.rng)
        world.policy = self.policy
        self.world = world
        self.collect_agents = collect_agents
        self.restored_from: dict[str, Any] | None = None
        self.space, cells = build_space(self.geo, self.random)
        self.governments = [Government(self, i, cells[i]) for i in range(self.geo.n)]
        self.fund_agents = [VentureFund(self, i) for i in range(self.world.funds.n)]
        self.adjacency = observe.neighbour_matrix(self.geo)
        self._city_rows: list[dict[str, np.ndarray]] = []
        self._region_rows: list[dict[str, float]] = []
        self._tracked: dict[str, list[int]] = {"firm": [], "talent": []}
        self._history: list[dict[str, Any]] = []
        self.datacollector = mesa.DataCollector(
            model_reporters={"mean_index": lambda m: float(m.city.index.mean()),
                             "cv": lambda m: observe.cv(m.city.index),
                             "tier_1": lambda m: int((m.city.tier == 1).sum()),
                             "tier_2": lambda m: int((m.city.tier == 2).sum())},
            agenttype_reporters=({Government: {"index": lambda g: float(g.model.city.index[g.city]),
                                               "tier": lambda g: int(g.model.city.tier[g.city])}}
                                 if collect_agents else None),
        )

    # ---------------------------------------------------------------- accessors
    @property
    def city(self):
        """The city state arrays (``CityState``)."""
        return self.world.city

    @property
    def firms(self):
        """The firm pool (struct of arrays)."""
        return self.world.firms

    @property
    def talent(self):
        """The talent pool (struct of arrays)."""
        return self.world.talent

    @property
    def funds(self):
        """The fund pool (struct of arrays)."""
        return self.world.funds

    @property
    def year(self) -> float:
        """Calendar time of the current state."""
        return self.world.year

    def firm(self, i: int) -> FirmView:
        """One firm as a view (``model.firm(3).cash``)."""
        return FirmView(self.world, i)

    def talent_agent(self, uid: int) -> TalentView:
        """One talent agent, by its ``uid`` (the initial agents have uids 0..n_talent-1)."""
        return TalentView(self.world, uid)

    def city_view(self, name: str) -> dict[str, Any]:
        """All state of one city, by name."""
        i = self.geo.index(name)
        c = self.city
        out = {k: getattr(c, k)[i].item() for k in (
            "index", "tier", "rank", "knowledge", "external", "gdp", "wage", "rent", "platforms",
            "culture", "ip", "intermediary", "budget", "talent_offer")}
        out.update(name=name, province=self.geo.provinces[self.geo.province[i]],
                   talent=int((self.talent.view("city") == i).sum()),
                   firms=int(self.world.firm_count()[i]), policy=self.governments[i].policy)
        return out

    def track(self, firms: list[int] = (), talent: list[int] = ()) -> None:
        """Record the full row of these firms (ids) and talent agents (uids) at every step.

        A talent agent's history ends when it leaves the region (``renew``).
        """
        new = {"firm": [int(i) for i in firms if int(i) not in self._tracked["firm"]],
               "talent": [int(i) for i in talent if int(i) not in self._tracked["talent"]]}
        for kind, ids in new.items():
            self._tracked[kind].extend(dict.fromkeys(ids))
        self._record_tracked(new)

    def history(self, kind: str, i: int) -> pd.DataFrame:
        """The recorded history of a tracked ``"firm"`` or ``"talent"`` agent."""
        rows = [r for r in self._history if r["kind"] == kind and r["id"] == i]
        if not rows:
            raise KeyError(f"{kind} {i} is not tracked; call model.track({kind}s=[{i}]) first")
        return pd.DataFrame(rows).drop(columns="kind").set_index("step")

    # ---------------------------------------------------------------- dynamics
    def step(self) -> None:
        """One quarter: the ODD process overview, in this order.

        1. ``govern``: budgets are raised and spent first, so this quarter's subsidies,
           platforms and guidance money act this quarter.
        2. ``spill``: external knowledge is computed from the knowledge stocks as they
           stand after ``govern`` (last quarter's stocks plus this quarter's basic
           research), for all cities at once (a simultaneous, not a sequential update).
        3. ``innovate``: firms spend on R&D and innovate with local plus spilled-over
           knowledge; the index and knowledge stocks update.
        4. ``operate``: firms book revenue and costs, pay taxes, borrow; firms short of
           cash fail (after innovating: a last-quarter breakthrough can save a firm only
           through next quarter's revenue).
        5. ``invest``: VC funds screen the surviving firms, invest, exit, raise funds.
        6. ``hire``: firms staff up with the cash they now have.
        7. ``found``: talent founds startups, more where VC was invested this quarter.
        8. ``migrate``: talent moves; movers leave their jobs (vacancies refill next quarter,
           unless the firm is left with no staff: it closes in next quarter's ``operate``).
        9. ``relocate``: firms under cost pressure move.
        10. ``settle``: residents move toward higher output per head (last quarter's); newcomers
            from the rest of China arrive.
        11. ``grow``: output from knowledge (own and absorbed this quarter), capital,
            residents and talent; capital accumulates; income level, wages and rents follow.
        12. ``renew``: leavers leave, graduates and newcomers enter (unemployed: they are
            hired next quarter), after ``grow`` so that this quarter's output is made by
            the talent that worked in it.
        Then the step is observed.

        The one ordering choice that changes results materially is a parameter:
        ``migrate_before_hire`` runs ``migrate`` before ``hire`` and ``found``, so that
        movers can be hired in their new city in the same quarter.
        """
        self._apply_policy()
        w, rng = self.world, self.rng
        w.reset_tick()
        govern(w, rng)
        spill(w, rng)
        innovate(w, rng)
        operate(w, rng)
        invest(w, rng)
        if self.params.migrate_before_hire:
            migrate(w, rng)
        hire(w, rng)
        found(w, rng, w.tick["vc_invested"])
        if not self.params.migrate_before_hire:
            migrate(w, rng)
        relocate(w, rng, w.tick["vc_invested"])
        settle(w, rng)
        grow(w, rng)
        renew(w, rng)
        w.step += 1
        self._observe()
        self.running = w.step < self.config.steps  # Mesa's batch_run and the dashboard stop

    def run(self, steps: int | None = None, until: int | None = None) -> None:
        """Run ``steps`` more quarters (default: the scenario's ``run.steps``).

        ``until``: instead, run through the end of this calendar year (to the step
        :func:`last_step` gives), from wherever the model stands (a restored model too).
        """
        if until is not None:
            steps = last_step(self.params.start_year, until) - self.world.step
            if steps < 0:
                raise ValueError(f"the model is at {self.world.year:g}, after the end of {until}")
        for _ in range(self.config.steps if steps is None else steps):
            self.step()

    # ---------------------------------------------------------------- saving and restoring
    def save(self, path: str | Path) -> Path:
        """Write this model's whole state to one file (no pickle; see ``model/state.py``).

        :meth:`load` restores a model that continues bit for bit as this one would: every
        array of ``world``, the generators' states, Mesa's step counter and clock, and
        the recorded tables, so ``cities_frame()`` and ``region_frame()`` of the restored
        model cover the steps before the save too. The scenario is saved with it.
        """
        w, sc, geo = self.world, self.config, self.geo
        arrays: dict[str, np.ndarray] = {}
        world = state_file.encode(w, "world", arrays, {id(w.geo): "geography",
                                                      id(w.params): "params"})
        recorded = {}
        for name in self.RECORDED:
            value = getattr(self, name)
            if _is_table(value):
                value = {"rows": state_file.stack_rows(value)}
            recorded[name] = value
        dc = self.datacollector
        recorded["datacollector"] = {
            "model_vars": dc.model_vars, "collection_steps": dc._collection_steps,
            "agent_records": [[t, rows] for t, rows in dc._agent_records.items()],
            "agenttype_records": [[t, {k.__name__: rows for k, rows in d.items()}]
                                  for t, d in dc._agenttype_records.items()],
            "tables": dc.tables, "validated": dc._validated,
        }
        resolved = {**sc.raw, "run": {**sc.raw.get("run", {}), "steps": sc.steps, "seed": sc.seed},
                    "params": sc.params.to_dict()}
        version, internal, gauss = self.random.getstate()
        header = {
            **state_file.new_header(),
            "seed": self.seed, "step": w.step, "year": w.year,
            "collect_agents": self.collect_agents,
            "scenario": {"name": sc.name, "file": sc.file, "resolved": resolved},
            "params": self.params.to_dict(),
            "geography": {"name": geo.name, "n": geo.n,
                          "digest": state_file.geography_digest(geo)},
            "rng": self.rng.bit_generator.state,
            "python_random": [version, list(internal), gauss],
            "mesa": {"steps": self.steps, "time": self.time, "running": self.running},
            "restored_from": self.restored_from,
            "world": world,
            "recorded": state_file.encode(recorded, "recorded", arrays),
        }
        return state_file.write_state(path, header, arrays)

    @classmethod
    def load(cls, path: str | Path, scenario: Scenario | str | None = None) -> InnovationModel:
        """Restore a model saved by :meth:`save`.

        Parameters
        ----------
        path : a state file.
        scenario : Scenario or path, optional
            Continue under another scenario (a branch): its parameters and policy rules
            apply from the saved step on (a rule in force at the saved year is in force at
            once, a later one from its ``from_year``). It must be on the state's geography
            and share its ``start_year``. Default: the scenario the state was saved with.

        Raises
        ------
        StateError
            The file is not a state of this format and model code, is corrupt, or the
            scenario cannot continue it (a ``ScenarioError``: exit status 2 at the CLI).
        """
        file = str(path)
        header, arrays = state_file.read_state(path)
        if scenario is None:
            sc = state_file.saved_scenario(header, file)
        else:
            sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        changed = state_file.check_branch(header, sc, file)
        m = cls.__new__(cls)
        try:
            world = state_file.decode(header["world"], arrays,
                                      {"geography": sc.geography, "params": sc.params})
            recorded = state_file.decode(header["recorded"], arrays)
            m._build(sc, int(header["seed"]), bool(header["collect_agents"]), world=world)
            m._restore(header, recorded)
        except (KeyError, ValueError, TypeError, IndexError, AttributeError) as e:
            raise state_file.StateError(file, f"its state cannot be decoded ({type(e).__name__}: "
                                        f"{e}; corrupt)") from None
        if changed:  # the caches are keyed by the policy, not by the parameters
            world.clear_caches()
        m.restored_from = {"file": file, "seed": m.seed, "step": world.step, "year": world.year,
                           "scenario": header["scenario"]["name"],
                           "params_changed": {k: list(v) for k, v in changed.items()}}
        return m

    def _restore(self, header: dict[str, Any], recorded: dict[str, Any]) -> None:
        for name in self.RECORDED:
            value = recorded[name]
            if isinstance(value, dict) and set(value) == {"rows"}:
                value = state_file.unstack_rows(value["rows"])
            setattr(self, name, value)
        dc = self.datacollector
        saved = recorded["datacollector"]
        types = {t.__name__: t for t in dc.agenttype_reporters}
        dc.model_vars = saved["model_vars"]
        dc._collection_steps = saved["collection_steps"]
        dc._agent_records = {t: rows for t, rows in saved["agent_records"]}
        dc._agenttype_records = {t: {types[k]: rows for k, rows in d.items()}
                                 for t, d in saved["agenttype_records"]}
        dc.tables = saved["tables"]
        dc._validated = saved["validated"]
        self.rng.bit_generator.state = header["rng"]
        version, internal, gauss = header["python_random"]
        self.random.setstate((version, tuple(internal), gauss))
        mesa_state = header["mesa"]
        self.steps, self.time = int(mesa_state["steps"]), float(mesa_state["time"])
        self.running = bool(mesa_state["running"])
        self._default_schedule.pause()   # Mesa's next step event: one unit after the clock
        self._default_schedule.resume()

    def _apply_policy(self) -> None:
        year = self.world.year
        active = tuple(k for k, r in enumerate(self.config.rules)
                       if r.from_year <= year < r.until_year)
        if active != self._active_rules:
            self.policy, self._active_rules = self.config.policy_at(year)
            self.world.policy = self.policy

    # ---------------------------------------------------------------- observation
    def _observe(self) -> None:
        w, c, geo = self.world, self.world.city, self.geo
        c.tier = observe.compute_tiers(c.index)
        order = np.argsort(-c.index, kind="stable")
        c.rank = np.empty(geo.n, dtype=np.int64)
        c.rank[order] = np.arange(geo.n)
        lm, lab = observe.local_moran(c.index, self.adjacency)
        tick = w.tick
        self._city_rows.append({
            "index": c.index.copy(), "tier": c.tier.copy(), "rank": c.rank + 1,
            "knowledge": c.knowledge.copy(), "external": c.external.copy(),
            "talent": w.talent_count(), "firms": w.firm_count(),
            "vc_invested": tick["vc_invested"].copy(), "rd_spent": tick["rd_spent"].copy(),
            "innovations": tick["innovations"].copy(),
            "innov_value": tick["innov_value"].copy(), "gdp": c.gdp.copy(), "wage": c.wage.copy(),
            "rent": c.rent.copy(), "residents": c.population.copy(),
            "platforms": c.platforms.copy(), "culture": c.culture.copy(),
            "ip": c.ip.copy(), "talent_in": tick["talent_in"].copy(),
            "talent_out": tick["talent_out"].copy(),
            "talent_entered": tick["graduates"] + tick["talent_inflow"],
            "talent_left": tick["talent_exit"].copy(), "founded": tick["founded"].copy(),
            "failed": tick["failed"].copy(), "local_moran": lm, "lisa": lab,
        })
        t, tb, tw = observe.theil(c.index, geo.province)
        val = tick["innov_value"].sum()
        counts = np.bincount(c.tier, minlength=5)
        self._region_rows.append({
            "mean_index": float(c.index.mean()), "cv": observe.cv(c.index),
            "gini": observe.gini(c.index), "theil": t, "theil_between": tb, "theil_within": tw,
            "morans_i": observe.morans_i(c.index, self.adjacency),
            "tier_1": int(counts[1]), "tier_2": int(counts[2]), "tier_3": int(counts[3]),
            "tier_4": int(counts[4]),
            "spillover_share": float(tick["external_value"].sum() / val) if val > 0 else 0.0,
            "talent_migration": float(tick["talent_in"].sum()),
            "talent_cross_province": float(tick["talent_cross_province"].sum()),
            "vc_invested": float(tick["vc_invested"].sum()),
            "vc_cross_province": float(tick["vc_cross_province"].sum()),
            "rd_spent": float(tick["rd_spent"].sum()),
            "rd_subsidy": float(tick["rd_subsidy"].sum()),
            "innovations": float(tick["innovations"].sum()),
            "firms_alive": int(w.firms.view("alive").sum()),
            "founded": float(tick["founded"].sum()), "failed": float(tick["failed"].sum()),
            "exits": float(tick["exits"].sum()),
            "gdp": float(c.gdp.sum()), "income_level": float(w.income_level),
            "rd_intensity": float(tick["rd_spent"].sum() / (c.gdp.sum() * w.scale / 4.0)),
            "talent": float(w.talent.n), "graduates": float(tick["graduates"].sum()),
            "talent_inflow": float(tick["talent_inflow"].sum()),
            "talent_exit": float(tick["talent_exit"].sum()), "lapsed": float(tick["lapsed"].sum()),
            "residents_moved": float(tick["residents_moved"].sum()),
            "residents_arrived": float(tick["residents_arrived"].sum()),
            "ind_achievement_sharing": float(tick["collab_value_cross"].sum()),
            "ind_resource_sharing": float(tick["shared_knowledge"].sum()
                                          + tick["knowledge_cross_province"].sum()),
            "ind_innovation_cooperation": float(tick["collab_cross"].sum()),
            "ind_industrial_linkage": float(tick["vc_cross_province"].sum()
                                            + tick["relocated_in"].sum()),
            "ind_environmental_support": float(tick["support_spending"].sum()),
        })
        self._record_tracked()
        self.datacollector.collect(self)

    def _record_tracked(self, tracked: dict[str, list[int]] | None = None) -> None:
        for kind, ids in (self._tracked if tracked is None else tracked).items():
            view = FirmView if kind == "firm" else TalentView
            for i in ids:
                try:
                    row = view(self.world, i).as_dict()
                except LookupError:  # a talent agent that has left the region
                    continue
                row.update(kind=kind, step=self.world.step, year=self.world.year)
                self._history.append(row)

    # ---------------------------------------------------------------- output tables
    def cities_frame(self) -> pd.DataFrame:
        """One row per recorded step and city (the ``cities.csv`` contract)."""
        n = self.geo.n
        k = len(self._city_rows)
        steps = np.repeat(np.arange(k), n)
        cols: dict[str, Any] = {
            "step": steps, "year": self.params.start_year + steps / 4.0,
            "city": np.tile(np.array(self.geo.cities, dtype=object), k),
            "province": np.tile(np.array(self.geo.provinces, dtype=object)[self.geo.province], k),
        }
        for name in CITY_COLUMNS[4:]:
            cols[name] = np.concatenate([r[name] for r in self._city_rows])
        df = pd.DataFrame(cols)
        df.insert(0, "seed", self.seed)
        return df

    def region_frame(self) -> pd.DataFrame:
        """One row per recorded step (the ``region.csv`` contract)."""
        df = pd.DataFrame(self._region_rows)
        df.insert(0, "step", np.arange(len(df)))
        df.insert(1, "year", self.params.start_year + df["step"] / 4.0)
        df["collab_index"] = observe.collab_index(df, base_year=2011)
        df.insert(0, "seed", self.seed)
        return df[["seed", *REGION_COLUMNS]]

    def flows_frames(self) -> dict[str, pd.DataFrame]:
        """Cumulative city-by-city flow matrices (rows: from, columns: to)."""
        names = list(self.geo.cities)
        return {k: pd.DataFrame(v, index=pd.Index(names, name="from"), columns=names)
                for k, v in self.world.flows.items()}



def last_step(start_year: int, year: int) -> int:
    """The step at the end of calendar ``year``: ``(year + 1 - start_year) * 4``.

    Example: a 2001 start ends 2021 at step 84 (the state at 2022.0) and 2035 at step 140.
    """
    return int(round((year + 1 - start_year) * 4))


def _is_table(value: Any) -> bool:
    """A non-empty list of dicts with the same keys, each value an array, number or string."""
    if not (isinstance(value, list) and value and all(isinstance(r, dict) for r in value)):
        return False
    keys = list(value[0])
    return all(list(r) == keys and all(isinstance(v, (np.ndarray, np.generic, int, float, str))
                                       for v in r.values()) for r in value)
