"""Every agent and city state variable, listed once.

Populations are arrays, individuals are views (docs/ODD.md section 2):

* :class:`CityState` — one row per city (the cells of the space).
* :class:`FirmPool`, :class:`TalentPool`, :class:`FundPool` — columns of numpy arrays, one
  entry per agent. Agent ids are row indices and are never reused: a failed firm keeps
  its row with ``alive = False``; new firms are appended (capacity grows by doubling).
* :class:`Government` and :class:`VentureFund` — ordinary Mesa agents that are views on a
  row of the city and fund arrays; :class:`FirmView` and :class:`TalentView` are plain
  views for notebooks (``model.firm(i)``, ``model.talent(i)``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

import mesa
import numpy as np
from mesa.discrete_space import FixedAgent

__all__ = [
    "CityState", "FirmPool", "TalentPool", "FundPool", "Government", "VentureFund",
    "FirmView", "TalentView",
]


class Pool:
    """Growable struct-of-arrays; ``COLUMNS`` maps column name to dtype."""

    COLUMNS: ClassVar[dict[str, Any]] = {}

    def __init__(self, capacity: int):
        self.n = 0
        self._cap = max(int(capacity), 1)
        for name, dtype in self.COLUMNS.items():
            setattr(self, name, np.zeros(self._cap, dtype=dtype))

    def add(self, count: int, **values: Any) -> np.ndarray:
        """Append ``count`` rows; unnamed columns are zero (``-1`` for ids). Return new ids."""
        if count <= 0:
            return np.empty(0, dtype=np.int64)
        unknown = set(values) - set(self.COLUMNS)
        if unknown:
            raise KeyError(f"unknown columns {sorted(unknown)}")
        need = self.n + count
        if need > self._cap:
            new_cap = max(need, 2 * self._cap)
            for name in self.COLUMNS:
                old = getattr(self, name)
                grown = np.zeros(new_cap, dtype=old.dtype)
                grown[: self.n] = old[: self.n]
                setattr(self, name, grown)
            self._cap = new_cap
        sl = slice(self.n, need)
        for name in self.COLUMNS:
            col = getattr(self, name)
            col[sl] = values.get(name, self.DEFAULTS.get(name, 0))
        self.n = need
        return np.arange(sl.start, sl.stop)

    DEFAULTS: ClassVar[dict[str, Any]] = {}

    def view(self, name: str) -> np.ndarray:
        """The live part ``[:n]`` of a column (a view, writes go through)."""
        return getattr(self, name)[: self.n]

    def nbytes(self) -> int:
        """Memory held by the columns, in bytes."""
        return sum(getattr(self, name).nbytes for name in self.COLUMNS)


class FirmPool(Pool):
    """Firms: one entry per firm ever created.

    Columns:

    ======== ======= =====================================================
    city     int32   city index
    sector   int8    index into ``SECTORS``
    stage    int8    0 startup, 1 scale-up, 2 mature
    capability float knowledge embodied in the firm (capability units)
    staff    int32   number of employed talent agents
    cash     float   MU
    debt     float   MU owed on low-interest government loans
    rd       float   R&D spent last quarter, MU
    fund     int32   backing VC fund id, -1 if none
    vc_in    float   VC money invested in the firm so far, MU
    innovations int32 cumulative count of innovations
    value    float   cumulative value of innovations, MU
    alive    bool
    born     int32   step of founding (negative for firms present at the start)
    died     int32   step of failure, -1 if alive
    exits    int8    1 after an IPO/acquisition exit
    ======== ======= =====================================================
    """

    COLUMNS: ClassVar[dict[str, Any]] = {
        "city": np.int32, "sector": np.int8, "stage": np.int8, "capability": np.float64,
        "staff": np.int32, "cash": np.float64, "debt": np.float64, "rd": np.float64,
        "fund": np.int32, "vc_in": np.float64, "innovations": np.int32, "value": np.float64,
        "alive": np.bool_, "born": np.int32, "died": np.int32, "exits": np.int8,
    }
    DEFAULTS: ClassVar[dict[str, Any]] = {"fund": -1, "died": -1, "alive": True}


class TalentPool(Pool):
    """Talent: researchers, engineers, would-be entrepreneurs.

    Columns:

    ======== ======= ==========================================
    uid      int64   identity, never reused (rows move when others leave)
    city     int32   city index
    skill    float   productivity multiplier (lognormal, mean 1)
    employer int32   firm id, -1 if not employed by a firm
    wage     float   MU last quarter
    moves    int32   cumulative number of migrations
    born     int32   step of entry (0 for the initial stock)
    ======== ======= ==========================================

    The talent stock renews (``model.submodels.renew``): entrants are appended and
    leavers removed, so a row index is not an identity; ``uid`` is.
    """

    COLUMNS: ClassVar[dict[str, Any]] = {
        "uid": np.int64, "city": np.int32, "skill": np.float64, "employer": np.int32,
        "wage": np.float64, "moves": np.int32, "born": np.int32,
    }
    DEFAULTS: ClassVar[dict[str, Any]] = {"employer": -1}

    def __init__(self, capacity: int):
        super().__init__(capacity)
        self.next_uid = 0

    def add(self, count: int, **values: Any) -> np.ndarray:
        """Append ``count`` agents with fresh uids; return their row indices."""
        ids = super().add(count, **values)
        self.uid[ids] = np.arange(self.next_uid, self.next_uid + len(ids))
        self.next_uid += len(ids)
        return ids

    def remove(self, rows: np.ndarray) -> None:
        """Delete rows (compacting the live part); the caller releases their employers first."""
        if not len(rows):
            return
        keep = np.ones(self.n, dtype=bool)
        keep[rows] = False
        m = int(keep.sum())
        for name in self.COLUMNS:
            col = getattr(self, name)
            col[:m] = col[: self.n][keep]
        self.n = m

    def row_of(self, uid: int) -> int | None:
        """Row index of the agent with this ``uid``, or None if it has left."""
        hit = np.flatnonzero(self.uid[: self.n] == uid)
        return int(hit[0]) if len(hit) else None


class FundPool(Pool):
    """Venture-capital funds: private and government guidance funds.

    Columns:

    ============== ======= =================================================
    home           int32   home city
    guidance       bool    a government guidance ("mother") fund
    stage_pref     int8    preferred stage (0 startup, 1 scale-up)
    capital        float   dry powder, MU
    committed      float   size of the current vintage, MU
    vintage_start  int32   step the current vintage started
    vintage_in     float   invested from the current vintage, MU
    vintage_out    float   exit proceeds of the current vintage, MU
    raised         float   cumulative money raised (LPs, government), MU
    invested       float   cumulative money invested, MU
    proceeds       float   cumulative exit proceeds (distributed to LPs), MU
    reimbursed     float   cumulative angel-risk reimbursements received, MU
    deals          int32   cumulative number of deals
    ============== ======= =================================================
    """

    COLUMNS: ClassVar[dict[str, Any]] = {
        "home": np.int32, "guidance": np.bool_, "stage_pref": np.int8, "capital": np.float64,
        "committed": np.float64, "vintage_start": np.int32, "vintage_in": np.float64,
        "vintage_out": np.float64, "raised": np.float64, "invested": np.float64,
        "proceeds": np.float64, "reimbursed": np.float64, "deals": np.int32,
    }


@dataclass
class CityState:
    """State of every city, one array entry per city (shape ``(N,)`` unless noted).

    Static inputs come from the geography; the rest evolves each step.
    """

    province: np.ndarray          # int, province index
    population: np.ndarray        # residents, 10,000 people (2000 census; ``settle`` moves them)
    industry: np.ndarray          # int, index into SECTORS
    amenity: np.ndarray           # [0, 1]
    corridor: np.ndarray          # bool, corridor member
    gdp: np.ndarray               # output, 100 million CNY per year at the start's prices
    capital: np.ndarray           # physical capital, 100 million CNY at the start's prices
    tfp: np.ndarray               # total factor productivity (grow)
    usable: np.ndarray            # knowledge the city could use last quarter, (K + E) / k_ref
    zone_gain: np.ndarray         # log TFP gain realised from national high-tech zones (grow)
    research: np.ndarray          # research capacity index (university-equivalents, input)
    productivity: np.ndarray      # firms' revenue factor: income level x relative income^e
    knowledge: np.ndarray         # knowledge units, public + private stock
    index: np.ndarray             # innovation index: depreciating stock of innovation value, MU
    platforms: np.ndarray         # research infrastructure and open platforms, units
    culture: np.ndarray           # innovation culture in [0, 1]
    culture0: np.ndarray          # culture at the start (relaxation target)
    ip: np.ndarray                # IP protection in [0, 1]
    ip0: np.ndarray               # IP protection at the start
    intermediary: np.ndarray      # technology-intermediary coverage in [0, 1]
    wage: np.ndarray              # MU per talent per quarter (base wage)
    rent: np.ndarray              # MU per talent per quarter (cost of living/land)
    talent_offer: np.ndarray      # MU paid to each arriving talent agent
    budget: np.ndarray            # unspent government money this quarter, MU (< 0: owed)
    talent_pool: np.ndarray       # money earmarked for talent subsidies, MU
    credit_pool: np.ndarray       # money available for SME loans, MU
    rd_pool: np.ndarray           # money available for R&D subsidies, MU
    rd_coverage: np.ndarray       # share of R&D subsidy claims paid last quarter, [0, 1]
    procurement_pool: np.ndarray  # money for public procurement, MU
    revenue: np.ndarray           # cumulative government revenue, MU
    spent: np.ndarray             # cumulative government spending, MU
    lapsed: np.ndarray            # cumulative unspent money returned to other public uses, MU
    collab: np.ndarray            # (N, N) decaying count of co-inventions of each pair
    innov_stock: np.ndarray       # decaying count of innovations credited to the city
    external: np.ndarray          # external (spilled-over) knowledge absorbed this step
    absorb: np.ndarray            # absorptive capacity in [0, 1]
    network: np.ndarray           # collaboration network: summed pair intensities (spill)
    rank: np.ndarray              # rank of the index (0 = highest)
    tier: np.ndarray              # int 1..4 by the studies' rule

    def copy(self) -> CityState:
        """Deep copy (for tests and what-if analysis)."""
        return CityState(**{f.name: getattr(self, f.name).copy() for f in fields(self)})


class Government(FixedAgent):
    """A city government: a Mesa agent fixed on its city's cell, viewing the city arrays.

    Its decisions are vectorised over all cities in ``model.submodels.govern``; this agent
    exposes one city's budget and policy for inspection.
    """

    def __init__(self, model: mesa.Model, city: int, cell: Any):
        super().__init__(model)
        self.city = city
        self.cell = cell

    @property
    def name(self) -> str:
        """The city's name."""
        return self.model.geo.cities[self.city]

    @property
    def policy(self) -> dict[str, Any]:
        """This city's policy settings in force now."""
        return {k: v[self.city].item() if hasattr(v[self.city], "item") else v[self.city]
                for k, v in self.model.policy.items() if not k.startswith("_")}

    @property
    def budget(self) -> float:
        """Unspent money this quarter, MU."""
        return float(self.model.city.budget[self.city])

    @property
    def revenue(self) -> float:
        """Cumulative revenue, MU."""
        return float(self.model.city.revenue[self.city])

    @property
    def spent(self) -> float:
        """Cumulative spending, MU."""
        return float(self.model.city.spent[self.city])


class VentureFund(mesa.Agent):
    """A venture-capital fund: a Mesa agent viewing one row of ``model.funds``."""

    def __init__(self, model: mesa.Model, fund_id: int):
        super().__init__(model)
        self.fund_id = fund_id

    def __getattr__(self, name: str) -> Any:
        funds = self.__dict__.get("model").funds if "model" in self.__dict__ else None
        if funds is not None and name in FundPool.COLUMNS:
            return getattr(funds, name)[self.fund_id].item()
        raise AttributeError(name)


class _RowView:
    """Read-only view of one row of a pool, with the model's name lookups."""

    _pool_name: ClassVar[str] = ""

    def __init__(self, model: Any, idx: int):
        pool = getattr(model, self._pool_name)
        if not 0 <= idx < pool.n:
            raise IndexError(f"{self._pool_name} id {idx} out of range [0, {pool.n})")
        self._model, self._pool, self.id = model, pool, idx

    def __getattr__(self, name: str) -> Any:
        pool = self.__dict__.get("_pool")
        if pool is not None and name in pool.COLUMNS:
            return getattr(pool, name)[self.id].item()
        raise AttributeError(name)

    def as_dict(self) -> dict[str, Any]:
        """All columns of this row, with the city's name."""
        d = {"id": self.id, **{c: getattr(self, c) for c in self._pool.COLUMNS}}
        d["city_name"] = self._model.geo.cities[d["city"]]
        return d

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.as_dict()})"


class FirmView(_RowView):
    """One firm, for notebooks: ``model.firm(i).cash``; history via ``model.track``."""

    _pool_name = "firms"


class TalentView(_RowView):
    """One talent agent by its ``uid``, for notebooks: ``model.talent_agent(uid).city``.

    Rows move when other agents leave, so the view looks its row up on every access; an
    agent that has left the region raises ``LookupError``.
    """

    _pool_name = "talent"

    def __init__(self, model: Any, uid: int):
        pool = model.talent
        if pool.row_of(uid) is None:
            raise LookupError(f"talent uid {uid} is not in the region (never entered, or left)")
        self._model, self._pool, self.id = model, pool, int(uid)

    def __getattr__(self, name: str) -> Any:
        pool = self.__dict__.get("_pool")
        if pool is not None and name in pool.COLUMNS:
            row = pool.row_of(self.id)
            if row is None:
                raise LookupError(f"talent uid {self.id} has left the region")
            return getattr(pool, name)[row].item()
        raise AttributeError(name)


#: Per-step city-level tallies kept in ``World.tick`` (reset at the start of each step).
TICK_KEYS: tuple[str, ...] = (
    "innovations", "innov_value", "external_value", "collab_cross", "collab_value_cross",
    "rd_spent", "rd_subsidy", "vc_invested", "vc_cross_province", "vc_deals", "exits",
    "talent_in", "talent_out", "talent_subsidy_paid", "founded", "failed", "relocated_in",
    "relocated_out", "shared_knowledge", "support_spending", "loans", "procurement",
    "talent_cross_province", "knowledge_cross_province", "graduates", "talent_inflow",
    "talent_exit", "lapsed", "co_prob", "residents_moved", "residents_arrived",
    "project_subsidy_paid",
)


@dataclass
class World:
    """All state of one model run; the submodels read and update it.

    Attributes
    ----------
    geo : Geography
    params : Params
    policy : dict of str to ndarray, shape (N,) each
        The policy settings in force this step, one entry per city.
    city : CityState
    firms, talent, funds : pools
    flows : dict of str to ndarray, shape (N, N)
        Cumulative flows over the run, ``flows[k][i, j]`` from city ``i`` to city ``j``:
        ``talent`` (agents), ``capital`` (MU of VC), ``knowledge`` (knowledge units),
        ``collaboration`` (co-invented innovations, symmetric).
    tick : dict of str to ndarray, shape (N,)
        This step's tallies per city (see :data:`TICK_KEYS`).
    step : int
        Steps completed.
    scale : float
        MU per (100 million CNY per year) of GDP: the sample scale set at initialisation.
    k_ref : float
        Reference knowledge level (mean at the start) that makes knowledge unit-free.
    income0 : float
        Regional output per head at the start (GDP over population, summed over cities).
    income_level : float
        Regional output per head relative to the start. Wages grow with it, so everything
        priced in labour (startup cash, deal sizes, platforms, basic research, rents) is
        scaled by it; R&D enters innovation deflated by it (real R&D effort).
    eff_dist : ndarray, shape (N, N)
        Effective distances in km: ``dist_km``, times ``corridor_distance_factor`` between
        two cities on an active corridor. Knowledge, VC, talent and firms all move along
        it (``spill``, ``invest``, ``migrate``, ``relocate``).
    """

    geo: Any
    params: Any
    policy: dict[str, np.ndarray]
    city: CityState
    firms: FirmPool
    talent: TalentPool
    funds: FundPool
    flows: dict[str, np.ndarray]
    tick: dict[str, np.ndarray]
    step: int
    scale: float
    k_ref: float
    income0: float = 1.0                      # regional output per head at the start
    income_level: float = 1.0                 # regional output per head / income0 ("prices")
    guidance_fund: np.ndarray | None = None   # (N,) fund id of each city's guidance fund
    spill_weights: np.ndarray | None = None   # (N, N) cached spillover kernel
    eff_dist: np.ndarray | None = None        # (N, N) effective km (corridors shorten)
    reach: tuple | None = None                # (key, (F, N) fund reach) cached by invest
    cross_province: np.ndarray | None = None  # (N, N) bool, pair in different provinces
    spill_key: tuple | None = None            # policy state the cached kernel was built for
    barrier: np.ndarray | None = None         # (N, N) provincial barrier left per pair (spill)

    #: The fields that are caches: pure functions of the geography, the parameters and the
    #: policy in force, rebuilt by ``spill`` (kernel, distances, barrier) and ``invest``
    #: (reach) when their key, the policy state, changes. A restored state keeps them; a
    #: branch with other parameters clears them (:meth:`clear_caches`), since the keys do
    #: not hold the parameters.
    CACHES: ClassVar[tuple[str, ...]] = ("spill_weights", "spill_key", "eff_dist", "barrier",
                                         "reach")

    def clear_caches(self) -> None:
        """Drop the caches (:data:`CACHES`); the next step rebuilds them before any use."""
        for name in self.CACHES:
            setattr(self, name, None)

    @property
    def year(self) -> float:
        """Calendar time of the current step (start year + step / 4)."""
        return self.params.start_year + self.step / 4.0

    def distances(self) -> np.ndarray:
        """Effective distances (N, N) in km; corridors shorten them (see ``eff_dist``)."""
        return self.geo.dist_km if self.eff_dist is None else self.eff_dist

    def reset_tick(self) -> None:
        """Zero this step's tallies."""
        for v in self.tick.values():
            v.fill(0.0)

    def talent_count(self) -> np.ndarray:
        """Talent agents per city, shape (N,)."""
        return np.bincount(self.talent.view("city"), minlength=self.geo.n)

    def firm_count(self) -> np.ndarray:
        """Alive firms per city, shape (N,)."""
        f = self.firms
        return np.bincount(f.view("city")[f.view("alive")], minlength=self.geo.n)

    def remove_talent(self, rows: np.ndarray) -> None:
        """Talent ``rows`` leave: their employers lose them, then the rows are removed."""
        if len(rows):
            self.set_employer(rows, -1)
            self.talent.remove(rows)

    def set_employer(self, ids: np.ndarray, employer: np.ndarray | int) -> None:
        """Give talent ``ids`` a new ``employer`` (-1: none), keeping firms' ``staff`` in step.

        The one place employment changes: old employers lose, new ones gain, in time
        proportional to the agents moved, not to the whole population.
        """
        emp, staff, nf = self.talent.employer, self.firms.staff, self.firms.n
        old = emp[ids]
        staff[:nf] -= np.bincount(old[old >= 0], minlength=nf).astype(staff.dtype)
        emp[ids] = employer
        new = emp[ids]
        staff[:nf] += np.bincount(new[new >= 0], minlength=nf).astype(staff.dtype)
