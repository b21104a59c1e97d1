"""A what-if request: parsed from JSON, checked against the plan, turned into a scenario overlay.

A request is a mapping (the page posts it as JSON)::

    {"slips": [{"item": "T14", "by": 6, "unit": "months"},
               {"item": "T03", "to": "2023-06-30"}],
     "scenario": "covid-2020",            # a file stem of the scenarios directory, or null
     "risks":  {"R_FUNDING": "off"},      # off: probability 0, certain: probability 1
     "shocks": {"SH_TYPHOON_2021": "certain"}}

Every problem is collected, naming the field (``slips[0].item``), the value and
a fix, so one answer lists them all. Slips are whole calendar spans in the
scenario's own spelling (``6m``, ``45``), so the overlay written to YAML is the
one evaluated: a slip "to a date" becomes the days from the item's plan finish.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sim.model.clock import DAYS_PER_YEAR
from sim.model.entities import Plan
from sim.model.enums import Status
from sim.model.scenario import parse_duration
from sim.model.select import unknown_hint

UNITS = {"days": "", "weeks": "w", "months": "m", "years": "y"}  # request unit -> scenario duration suffix
STATES = ("off", "certain")  # a risk or shock as planned is simply not named
MAX_SLIP_DAYS = 20 * DAYS_PER_YEAR  # beyond any horizon the engine simulates: surely a typing error
MAX_SLIPS = 100


@dataclass(frozen=True)
class Issue:
    """One problem of a request: the field, the value given and what is wrong (with a fix)."""

    field: str
    value: str
    message: str
    message_zh: str = ""  # the page is bilingual: the same problem in Chinese

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "value": self.value, "message": self.message,
                "message_zh": self.message_zh or self.message}


class RequestError(Exception):
    """A request that cannot be evaluated; ``status`` is the HTTP status to answer with."""

    def __init__(self, issues: list[Issue], *, status: int = 422) -> None:
        self.issues = issues
        self.status = status
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The first problem in one line (English), with how many more there are."""
        return self._line(zh=False)

    @property
    def message_zh(self) -> str:
        return self._line(zh=True)

    def _line(self, *, zh: bool) -> str:
        first = self.issues[0] if self.issues else Issue("", "", "bad request", "请求有误")
        where = f"{first.field}: " if first.field else ""
        n = len(self.issues) - 1
        more = (f"（另有 {n} 处）" if zh else f" (and {n} more)") if n else ""
        return f"{where}{(first.message_zh or first.message) if zh else first.message}{more}"


@dataclass(frozen=True)
class Slip:
    """A fixed slip of ``item``: ``days`` calendar days, written ``spelled`` in the scenario YAML."""

    item: str
    days: float
    spelled: str | float


@dataclass(frozen=True)
class WhatIf:
    """A checked request."""

    slips: tuple[Slip, ...] = ()
    scenario: str | None = None
    risks: tuple[tuple[str, str], ...] = ()
    shocks: tuple[tuple[str, str], ...] = ()
    description: str = ""

    def overlay(self) -> dict[str, Any]:
        """The scenario mapping (scenarios/README.md keys) of the slips and switches, without ``extends``."""
        out: dict[str, Any] = {}
        if self.risks:
            out["risks"] = {rid: {"probability": 0.0 if s == "off" else 1.0} for rid, s in self.risks}
        if self.shocks:
            out["shocks"] = {sid: {"probability": 0.0 if s == "off" else 1.0} for sid, s in self.shocks}
        if self.slips:
            out["slip"] = {s.item: s.spelled for s in self.slips}
        return out

    def slip_overlay(self) -> dict[str, Any]:
        """Only the slips (for the zero-variance plan, which has no risks or shocks)."""
        return {"slip": {s.item: s.spelled for s in self.slips}} if self.slips else {}

    @property
    def empty(self) -> bool:
        return not (self.slips or self.scenario or self.risks or self.shocks)


@dataclass
class _Checker:
    plan: Plan
    scenarios: tuple[str, ...]
    issues: list[Issue] = field(default_factory=list)

    def bad(self, where: str, value: Any, message: str, zh: str) -> None:
        self.issues.append(Issue(where, _show(value), message, zh))

    def slips(self, raw: Any) -> tuple[Slip, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.bad("slips", raw, "slips must be a list of {item, by, unit} or {item, to}",
                     "slips 应为 {item, by, unit} 或 {item, to} 的列表")
            return ()
        if len(raw) > MAX_SLIPS:
            self.bad("slips", len(raw), f"at most {MAX_SLIPS} slips at once",
                     f"一次最多 {MAX_SLIPS} 项延误")
            return ()
        items = {it.id: it for it in self.plan.items}
        out, seen = [], set()
        for k, entry in enumerate(raw):
            where = f"slips[{k}]"
            if not isinstance(entry, Mapping):
                self.bad(where, entry, "each slip is an object {item, by, unit} or {item, to}",
                         "每项延误应为 {item, by, unit} 或 {item, to}")
                continue
            unknown = set(entry) - {"item", "by", "unit", "to"}
            if unknown:
                self.bad(f"{where}.{sorted(unknown)[0]}", sorted(unknown)[0], "unknown field; use item, by, unit or to",
                         "未知字段；可用 item、by、unit 或 to")
                continue
            iid = entry.get("item")
            if not isinstance(iid, str) or iid not in items:
                hint = unknown_hint(str(iid), list(items), home="items.csv id")
                self.bad(f"{where}.item", iid, f"unknown item {iid!r}; {hint}",
                         f"未知事项 {iid!r}" + (f"；是否为 {'、'.join(close)}？" if (close := _close(str(iid), items)) else
                                                "；请从列表中选择事项编号"))
                continue
            if iid in seen:
                self.bad(f"{where}.item", iid, f"item {iid} is slipped twice; give one slip per item",
                         f"事项 {iid} 重复出现；每个事项只能设一项延误")
                continue
            seen.add(iid)
            if items[iid].status is Status.DONE:
                self.bad(f"{where}.item", iid, f"item {iid} is done on {self.plan.as_of}; it cannot slip",
                         f"事项 {iid} 在 {self.plan.as_of} 已完成，不能延误")
                continue
            slip = self._to_date(where, entry, items[iid]) if "to" in entry else self._by(where, entry, iid)
            if slip is not None:
                out.append(slip)
        return tuple(out)

    def _by(self, where: str, entry: Mapping, iid: str) -> Slip | None:
        by, unit = entry.get("by"), entry.get("unit", "days")
        if unit not in UNITS:
            self.bad(f"{where}.unit", unit, f"unknown unit; use one of {', '.join(UNITS)}",
                     f"未知单位；可用 {', '.join(UNITS)}")
            return None
        if isinstance(by, bool) or not isinstance(by, (int, float)) or not math.isfinite(by):
            self.bad(f"{where}.by", by, "the slip must be a number (of days, weeks, months or years)",
                     "延误应为数字（天、周、月或年）")
            return None
        if by < 0:
            self.bad(f"{where}.by", by, "a slip cannot be negative; give 0 or more",
                     "延误不能为负数；请输入 0 或更大的数")
            return None
        spelled: str | float = float(by) if unit == "days" else f"{_plain(by)}{UNITS[unit]}"
        days = parse_duration(spelled)
        if days is None or days > MAX_SLIP_DAYS:
            self.bad(f"{where}.by", by, f"a slip of at most {MAX_SLIP_DAYS / DAYS_PER_YEAR:.0f} years",
                     f"延误最多 {MAX_SLIP_DAYS / DAYS_PER_YEAR:.0f} 年")
            return None
        return Slip(iid, float(days), spelled)

    def _to_date(self, where: str, entry: Mapping, item) -> Slip | None:
        if "by" in entry or "unit" in entry:
            self.bad(where, "", "give either by (and unit) or to, not both",
                     "延误量（by、unit）与延误至日期（to）只能给一个")
            return None
        raw = entry.get("to")
        try:
            day = dt.date.fromisoformat(raw) if isinstance(raw, str) else None
        except ValueError:
            day = None
        if day is None:
            self.bad(f"{where}.to", raw, "the date must be YYYY-MM-DD",
                     "日期应为 YYYY-MM-DD")
            return None
        days = (day - item.plan_finish).days
        if days < 0:
            self.bad(f"{where}.to", raw, f"{raw} is before {item.id}'s plan finish {item.plan_finish}; "
                                        "a slip cannot be negative",
                     f"{raw} 早于 {item.id} 的计划完成日 {item.plan_finish}；延误不能为负数")
            return None
        if days > MAX_SLIP_DAYS:
            self.bad(f"{where}.to", raw, f"a slip of at most {MAX_SLIP_DAYS / DAYS_PER_YEAR:.0f} years",
                     f"延误最多 {MAX_SLIP_DAYS / DAYS_PER_YEAR:.0f} 年")
            return None
        return Slip(item.id, float(days), float(days))

    def scenario(self, raw: Any) -> str | None:
        if raw in (None, ""):
            return None
        if not isinstance(raw, str) or raw not in self.scenarios:
            self.bad("scenario", raw, f"unknown scenario {raw!r}; "
                     + unknown_hint(str(raw), self.scenarios, home="scenario file"),
                     f"未知情景 {raw!r}")
            return None
        return raw

    def switches(self, raw: Any, key: str, known: list[str]) -> tuple[tuple[str, str], ...]:
        if raw is None:
            return ()
        if not isinstance(raw, Mapping):
            self.bad(key, raw, f"{key} must be an object {{id: \"off\" | \"certain\"}}",
                     f"{key} 应为 {{编号: \"off\" | \"certain\"}}")
            return ()
        out = []
        for rid, state in raw.items():
            if rid not in known:
                self.bad(f"{key}.{rid}", rid, f"unknown id {rid!r}; " + unknown_hint(str(rid), known, home=key),
                         f"未知编号 {rid!r}")
            elif state in (None, "", "on"):
                continue  # as planned
            elif state not in STATES:
                self.bad(f"{key}.{rid}", state, "use \"off\" (probability 0), \"certain\" (probability 1) or \"on\"",
                         "可用 \"off\"（概率 0）、\"certain\"（概率 1）或 \"on\"（按计划）")
            else:
                out.append((rid, state))
        return tuple(out)


def parse_request(data: Any, plan: Plan, *, scenarios: tuple[str, ...]) -> WhatIf:
    """Check a decoded JSON request against ``plan`` and the scenario names offered.

    Raises
    ------
    RequestError
        Every problem found (status 422), or 400 when the body is not an object.
    """
    if not isinstance(data, Mapping):
        raise RequestError([Issue("", _show(data), "the request must be a JSON object", "请求应为 JSON 对象")],
                           status=400)
    check = _Checker(plan, scenarios)
    unknown = sorted(set(data) - {"slips", "scenario", "risks", "shocks", "description", "lang"})
    for key in unknown:
        check.bad(key, key, "unknown field; use slips, scenario, risks, shocks or description",
                  "未知字段；可用 slips、scenario、risks、shocks 或 description")
    slips = check.slips(data.get("slips"))
    scenario = check.scenario(data.get("scenario"))
    risks = check.switches(data.get("risks"), "risks", [r.id for r in plan.risks
                                                         if not r.id.startswith("slip.")])
    shocks = check.switches(data.get("shocks"), "shocks", [s.id for s in plan.shocks])
    description = data.get("description") or ""
    if not isinstance(description, str):
        check.bad("description", description, "the description must be text", "说明应为文字")
        description = ""
    if check.issues:
        raise RequestError(check.issues)
    return WhatIf(slips, scenario, risks, shocks, description.strip())


def _close(value: str, known) -> list[str]:
    import difflib

    return difflib.get_close_matches(value, list(known), n=3, cutoff=0.6)


def _plain(x: float) -> str:
    """A number as the scenario duration syntax reads it: digits and a point, never an exponent."""
    return f"{float(x):.6f}".rstrip("0").rstrip(".")


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:77] + "..."
