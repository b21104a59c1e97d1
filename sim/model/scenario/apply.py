"""Applying a scenario to a plan: each overlay's sections in order, then the plan re-validated."""

from __future__ import annotations

import builtins
import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from sim.model import planmeta
from sim.model import validate as v
from sim.model.distribution import Distribution, lognormal_sigma, scale_median
from sim.model.entities import (
    Assumption, CalendarWindow, DurationClass, FactorCorrelation, Item, KpiBoost, Link, Plan, Risk, Shock, Target,
    Unit,
)
from sim.model.enums import DistFamily, RiskMode, RiskPhase, Status
from sim.model.problems import PlanError, Problem
from sim.model.scenario.durations import (
    SLIP_PREFIX, effective_multiplier, planned_work_days, slip_risk, slip_work_days, wait_days,
)
from sim.model.scenario.read import Overlay, Scenario
from sim.model.scenario.readers import show
from sim.model.scenario.revalidate import catalog_of_plan, link_key, revalidate
from sim.model.scenario.schema import ITEM_FIELDS, SECTION_ORDER
from sim.model.select import resolve


def apply_scenario(plan: Plan, scenario: Scenario) -> Plan:
    """The plan with the scenario's overlays applied in order, re-validated.

    Parameters
    ----------
    plan
        A validated plan (from :func:`sim.model.load.load_plan`).
    scenario
        From :func:`load_scenario` or :func:`scenario_from_dict`.

    Returns
    -------
    Plan
        A new plan; ``origin`` notes the scenario.

    Raises
    ------
    PlanError
        Unknown ids, references that no longer hold, cycles, impossible targets:
        every problem, each naming the scenario file and key.
    """
    for overlay in scenario.overlays:
        plan = _Applier(plan, overlay).run()
    return dataclasses.replace(plan, origin=f"{plan.origin} + scenario {scenario.name}")


# --- applying one overlay --------------------------------------------------------------------

class _Applier:
    """Applies one overlay to a plan, collecting problems; ``run`` returns the new plan or raises."""

    def __init__(self, plan: Plan, overlay: Overlay):
        self.plan = plan
        self.file = overlay.file
        self.data = overlay.data
        self.problems: list[Problem] = []
        self.touched: dict[tuple[str, str], str] = {}  # (table, record key) -> scenario key path
        self.removed_items: dict[str, str] = {}

    def flag(self, path: str, value: Any, message: str, hint: str = "") -> None:
        self.problems.append(Problem(self.file, None, path, show(value), message, hint))

    def run(self) -> Plan:
        for section in SECTION_ORDER:
            if section in self.data:
                getattr(self, f"_{section}")(self.data[section])
        if not self.problems:
            self.problems += revalidate(self.plan, self.file, self.touched)
        if self.problems:
            raise PlanError(self.problems, what=f"scenario {self.file}")
        return self.plan

    def set(self, **changes: Any) -> None:
        self.plan = dataclasses.replace(self.plan, **changes)

    def known(self, path: str, value: str, ids, *, what: str, home: str) -> bool:
        if value in ids:
            return True
        hint = v.unknown_hint(value, ids, home=home)
        if value in self.removed_items:
            hint = f"it was removed by {self.removed_items[value]}"
        self.flag(path, value, f"unknown {what} {value!r}", hint)
        return False

    # -- scalars ---------------------------------------------------------------------------
    def _as_of(self, day: dt.date) -> None:
        self.set(as_of=day)
        self._assumption("as_of", day.isoformat(), "as_of")

    def _assumption(self, key: str, value: str, path: str) -> None:
        rows = list(self.plan.assumptions)
        for k, a in enumerate(rows):
            if a.key == key:
                rows[k] = dataclasses.replace(a, value=value, source=f"scenario {self.file}")
                break
        else:
            rows.append(Assumption(key, value, "", f"scenario {self.file}"))
        self.set(assumptions=tuple(rows))
        self.touched[("assumptions", key)] = path

    def _assumptions(self, values: Mapping[str, Any]) -> None:
        known_keys = {a.key for a in self.plan.assumptions} | {"aspirational_uplift", "horizon_years",
                                                               "preconstruction_type", "checkpoints"}
        types = {c.project_type for c in self.plan.duration_classes}
        for key, value in values.items():
            path = f"assumptions.{key}"
            if key not in known_keys:
                self.flag(path, value, f"unknown assumption {key!r}",
                          v.unknown_hint(key, known_keys, home="assumptions.csv key"))
            elif key == "checkpoints":
                self.set(checkpoints=value)
                self._assumption(key, ";".join(d.isoformat() for d in value), path)
            elif key == "preconstruction_type" and not self.known(path, value, types, what="project type",
                                                                 home="duration_classes.csv project_type"):
                continue
            else:
                self._assumption(key, f"{value:g}" if isinstance(value, float) else str(value), path)

    # -- structure: remove and add ---------------------------------------------------------------
    def _remove(self, spec: Mapping[str, Any]) -> None:
        p = self.plan
        for table, attr in (("items", "items"), ("risks", "risks"), ("shocks", "shocks"),
                            ("targets", "targets"), ("factors", "factors")):
            gone: dict[str, str] = {}
            ids = {r.id for r in getattr(p, attr)}
            for k, rid in enumerate(spec.get(table, ())):
                path = f"remove.{table}[{k}]"
                if self.known(path, rid, ids, what=table[:-1], home=f"{table}.csv id"):
                    gone[rid] = path
            if gone:
                self.set(**{attr: tuple(r for r in getattr(self.plan, attr) if r.id not in gone)})
            if table == "items":
                self.removed_items = gone
                self._drop_item_refs(set(gone))
            elif table == "factors" and gone:
                self.set(factor_correlations=tuple(c for c in self.plan.factor_correlations
                                                   if c.a not in gone and c.b not in gone))
            elif table == "targets":
                self._check_target_refs(gone, "target")
        self._check_target_refs(self.removed_items, "item")
        for path, ref in spec.get("links", ()):
            hit = [ln for ln in self.plan.links if ln.pred == ref["pred"] and ln.succ == ref["succ"]
                   and ref.get("type") in (None, ln.type)]
            if not hit:
                self.flag(path, f"{ref['pred']} -> {ref['succ']}", "no such link in links.csv",
                          "give pred, succ (and type) of an existing link")
            self.set(links=tuple(ln for ln in self.plan.links if ln not in hit))
        for path, ref in spec.get("kpi_boosts", ()):
            boosts = [b for b in self.plan.kpi_boosts if (b.kpi, b.item) == (ref["kpi"], ref["item"])]
            if not boosts:
                self.flag(path, f"{ref['kpi']} / {ref['item']}", "no such KPI boost in kpi_boosts.csv",
                          "give kpi and item of an existing boost")
            self.set(kpi_boosts=tuple(b for b in self.plan.kpi_boosts if b not in boosts))

    def _drop_item_refs(self, gone: builtins.set[str]) -> None:  # builtins.: the method set() hides it here
        """Links and boosts of removed items go; their ids leave selector lists."""
        p = self.plan
        self.set(links=tuple(ln for ln in p.links if ln.pred not in gone and ln.succ not in gone),
                 kpi_boosts=tuple(b for b in p.kpi_boosts if b.item not in gone),
                 factors=tuple(dataclasses.replace(f, members=_without(f.members, gone)) for f in p.factors),
                 risks=tuple(dataclasses.replace(r, targets=_without(r.targets, gone)) for r in p.risks),
                 shocks=tuple(dataclasses.replace(s, affects=_without(s.affects, gone)) for s in p.shocks))

    def _check_target_refs(self, gone: Mapping[str, str], what: str) -> None:
        changed = self.data.get("targets", {})
        for t in self.plan.targets:
            if "refs" in changed.get(t.id, {}):
                continue
            for ref in t.refs:
                if ref in gone:
                    self.flag(gone[ref], ref, f"{what} {ref} is still a ref of target {t.id}",
                              f"also remove target {t.id} (remove.targets) or change its refs (targets.{t.id}.refs)")

    def _add(self, spec: Mapping[str, Any]) -> None:
        for path, row in spec.get("duration_classes", ()):
            self._new("duration_classes", "project_type", row["project_type"], path, DurationClass(
                row["project_type"], row["name_en"], row["multiplier"],
                row.get("in_progress_sigma_scaling", True), f"scenario {self.file}"))
        for path, row in spec.get("units", ()):
            self._new("units", "id", row["id"], path, Unit(row["id"], row.get("name_zh", row["name_en"]),
                                                            row["name_en"], row.get("capacity"),
                                                            f"scenario {self.file}"))
        for path, row in spec.get("items", ()):
            self._new("items", "id", row["id"], path, self._new_item(row, path))
        for path, row in spec.get("links", ()):
            wrong = v.negative_lag(row.get("lag_days", 0.0))
            if wrong is not None:
                self.flag(f"{path}.lag_days", row["lag_days"], wrong, v.NEGATIVE_LAG_HINT)
                continue
            link = Link(row["pred"], row["succ"], row["type"], row.get("lag_days", 0.0), "", f"scenario {self.file}")
            ids = {it.id for it in self.plan.items}
            for end in ("pred", "succ"):
                self.known(f"{path}.{end}", row[end], ids, what="item", home="items.csv id")
            self.set(links=(*self.plan.links, link))
            self.touched[("links", link_key(link))] = path
        for path, row in spec.get("risks", ()):
            self._new("risks", "id", row["id"], path, Risk(
                row["id"], row.get("name_zh", row["id"]), row.get("name_en", row["id"]), row["probability"],
                row["impact"], row["targets"], row.get("mode", RiskMode.EACH), row.get("phase", RiskPhase.DURATION),
                f"scenario {self.file}"))
        for path, row in spec.get("shocks", ()):
            self._new("shocks", "id", row["id"], path, Shock(
                row["id"], row.get("name_zh", row["id"]), row.get("name_en", row["id"]), row["probability"],
                row["window_start"], row.get("window_end", row["window_start"]), row["length"], row["affects"],
                f"scenario {self.file}"))
        for path, row in spec.get("targets", ()):
            self._new("targets", "id", row["id"], path, Target(
                row["id"], row.get("name_zh", row.get("name_en", row["id"])), row.get("name_en", row["id"]),
                str(row.get("section", planmeta.headline_section(self.plan))), row["rule"], row["refs"], row["deadline"],
                row.get("k"), row.get("threshold"), "", f"scenario {self.file}"))
        for path, row in spec.get("kpi_boosts", ()):
            boost = KpiBoost(row["kpi"], row["item"], row.get("step", 0.0), row.get("rate_per_year", 0.0),
                             f"scenario {self.file}")
            self.known(f"{path}.kpi", boost.kpi, {k.id for k in self.plan.kpis}, what="KPI", home="kpis.csv id")
            self.known(f"{path}.item", boost.item, {i.id for i in self.plan.items}, what="item", home="items.csv id")
            self.set(kpi_boosts=(*self.plan.kpi_boosts, boost))

    def _new_item(self, row: Mapping[str, Any], path: str) -> Item:
        units = tuple(u.lstrip("*") for u in row.get("units", ()))
        leads = tuple(u.lstrip("*") for u in row.get("units", ()) if u.startswith("*"))
        fields = {k: row[k] for k in ITEM_FIELDS if k in row}
        fields.setdefault("name_zh", row["name_en"])
        return Item(id=row["id"], group=row.get("group", row["id"]), campaign=row["campaign"], units=units,
                    lead_units=leads or (units if len(units) == 1 else ()), source=f"scenario {self.file}",
                    **fields)

    def _new(self, attr: str, key: str, rid: str, path: str, record: Any) -> None:
        rows = getattr(self.plan, attr)
        if any(getattr(r, key) == rid for r in rows):
            self.flag(f"{path}.{key}", rid, f"{attr} already has {key} {rid!r}",
                      f"to change it use the section {attr}: {{{rid}: ...}}; to add, choose a new id")
            return
        self.set(**{attr: (*rows, record)})
        self.touched[(attr, rid)] = path

    # -- changes by id ---------------------------------------------------------------------------
    def _change(self, attr: str, key: str, changes: Mapping[str, Mapping[str, Any]], *, what: str,
                home: str, convert: Callable[[Any, dict, str], dict] | None = None) -> None:
        rows = list(getattr(self.plan, attr))
        index = {getattr(r, key): k for k, r in enumerate(rows)}
        for rid, fields in changes.items():
            path = f"{attr}.{rid}"
            if not self.known(path, rid, index, what=what, home=home):
                continue
            record = rows[index[rid]]
            fields = dict(fields) if convert is None else convert(record, dict(fields), path)
            rows[index[rid]] = dataclasses.replace(record, **fields)
            self.touched[(attr, rid)] = path
        self.set(**{attr: tuple(rows)})

    def _duration_classes(self, changes: Mapping[str, Any]) -> None:
        def convert(cls: DurationClass, f: dict, path: str) -> dict:
            dist = f.pop("multiplier", cls.multiplier)
            if "scale" in f:
                dist = scale_median(dist, f.pop("scale"))
            if "sigma_scale" in f:
                factor = f.pop("sigma_scale")
                sigma = lognormal_sigma(dist)
                if sigma is None:
                    self.flag(f"{path}.sigma_scale", factor, f"sigma_scale needs a lognormal, got {dist.describe()}",
                              "give a lognormal multiplier, or use scale")
                else:
                    dist = Distribution(DistFamily.LOGNORMAL_SIGMA, (dist.params[0], sigma * factor), floor=dist.floor)
            return {**f, "multiplier": dist}
        self._change("duration_classes", "project_type", changes, what="project type",
                     home="duration_classes.csv project_type", convert=convert)

    def _units(self, changes: Mapping[str, Any]) -> None:
        self._change("units", "id", changes, what="unit", home="units.csv id")

    def _calendars(self, changes: Mapping[str, list]) -> None:
        windows = list(self.plan.calendar_windows)
        for name, rows in changes.items():
            for path, row in rows:
                if row["start"] > row["end"]:
                    self.flag(f"{path}.start", row["start"], f"start {row['start']} is after end {row['end']}",
                              "swap or correct the dates")
                windows.append(CalendarWindow(name, row["start"], row["end"], row.get("name_en", ""),
                                              f"scenario {self.file}"))
        self.set(calendar_windows=tuple(windows))

    def _items(self, changes: Mapping[str, Any]) -> None:
        self._change("items", "id", changes, what="item", home="items.csv id")

    def _factors(self, changes: Mapping[str, Any]) -> None:
        self._change("factors", "id", changes, what="factor", home="factors.csv id")

    def _correlations(self, rows: list) -> None:
        corr = list(self.plan.factor_correlations)
        ids = {f.id for f in self.plan.factors}
        for path, row in rows:
            if not (self.known(f"{path}.a", row["a"], ids, what="factor", home="factors.csv id")
                    & self.known(f"{path}.b", row["b"], ids, what="factor", home="factors.csv id")):
                continue
            pair = {row["a"], row["b"]}
            corr = [c for c in corr if {c.a, c.b} != pair]
            corr.append(FactorCorrelation(row["a"], row["b"], row["rho"], f"scenario {self.file}"))
            self.touched[("factor_correlations", "~".join(sorted(pair)))] = path
        self.set(factor_correlations=tuple(corr))

    def _cost_classes(self, changes: Mapping[str, Any]) -> None:
        self._change("cost_classes", "project_type", changes, what="cost class", home="cost_classes.csv project_type")

    def _responses(self, changes: Mapping[str, Any]) -> None:
        self._change("responses", "id", changes, what="response", home="responses.csv id")

    def _apply_responses(self, ids_: list) -> None:
        known = {r.id for r in self.plan.responses}
        chosen = [r for r in ids_ if self.known("apply_responses", r, known, what="response", home="responses.csv id")]
        self.set(applied_responses=tuple(dict.fromkeys([*self.plan.applied_responses, *chosen])))

    def _risks(self, changes: Mapping[str, Any]) -> None:
        self._change("risks", "id", changes, what="risk", home="risks.csv id")

    def _shocks(self, changes: Mapping[str, Any]) -> None:
        self._change("shocks", "id", changes, what="shock", home="shocks.csv id")

    def _kpis(self, changes: Mapping[str, Any]) -> None:
        self._change("kpis", "id", changes, what="KPI", home="kpis.csv id")

    def _targets(self, changes: Mapping[str, Any]) -> None:
        self._change("targets", "id", changes, what="target", home="targets.csv id")

    # -- scaling and slips -----------------------------------------------------------------------
    def _adjust(self, rows: list) -> None:
        catalog = catalog_of_plan(self.plan)
        items = list(self.plan.items)
        for path, row in rows:
            bad = v.selector_problems(self.file, 0, f"{path}.select", row["select"], catalog)
            if bad:
                self.problems += [dataclasses.replace(b, row=None) for b in bad]
                continue
            chosen = set(resolve(items, row["select"]))
            statuses = row.get("status")
            hits = [k for k, it in enumerate(items) if it.id in chosen and it.status is not Status.DONE
                    and (statuses is None or it.status in statuses)]
            if not hits:
                self.flag(f"{path}.select", ";".join(row["select"]), "the selection matches no item that is "
                          "not done" + (f" with status {', '.join(statuses)}" if statuses else ""),
                          "check the selectors and the status filter")
                continue
            for k in hits:
                items[k] = self._scaled_item(items[k], row)
                self.touched[("items", items[k].id)] = path
        self.set(items=tuple(items))

    def _scaled_item(self, item: Item, row: Mapping[str, Any]) -> Item:
        if "multiplier_scale" in row:
            item = dataclasses.replace(item, multiplier=scale_median(effective_multiplier(self.plan, item),
                                                               row["multiplier_scale"]))
        wait = wait_days(self.plan, item)
        if "wait_scale" in row and wait > 0:
            work = planned_work_days(self.plan, item)
            start = self.plan.as_of + dt.timedelta(days=int(round(wait * row["wait_scale"])))
            item = dataclasses.replace(item, plan_start=start, duration_days=work)
        return item

    def _slip(self, slips: Mapping[str, float]) -> None:
        by_id = {it.id: it for it in self.plan.items}
        risks = list(self.plan.risks)
        for iid, days in slips.items():
            path = f"slip.{iid}"
            if not self.known(path, iid, by_id, what="item", home="items.csv id"):
                continue
            if by_id[iid].status is Status.DONE:
                self.flag(path, iid, f"item {iid} is done on {self.plan.as_of}; it cannot slip",
                          "slip an item that is not_started or in_progress")
                continue
            rid = SLIP_PREFIX + iid
            risks = [r for r in risks if r.id != rid]
            risks.append(slip_risk(iid, slip_work_days(self.plan, by_id[iid], days), days=days,
                                   source=f"scenario {self.file}"))
            self.touched[("risks", rid)] = path
        self.set(risks=tuple(risks))


def _without(selectors: tuple[str, ...], gone: set[str]) -> tuple[str, ...]:
    return tuple(s for s in selectors if s not in gone)
