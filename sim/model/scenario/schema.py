"""The schema of a scenario file: every key it may hold and the reader of each value.

scenarios/README.md documents every key; :func:`schema_keys` lists them for the
test that keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sim.model.enums import LinkType, RiskMode, RiskPhase, Status, TargetRule
from sim.model.scenario.readers import (
    Reader, boolean, by_id, choice, date, dates, distribution, duration, ident, ids, list_of, nullable, number,
    record, selectors, statuses, text, unit_ids,
)


def _assumption_values(r: Reader, value: Any, path: str) -> dict | None:
    known = dict(zip(ASSUMPTION_KEYS, (dates, number(above=0), number(above=0), ident)))
    if not isinstance(value, dict):
        r.flag(path, value, f"{path} must be a mapping of assumption keys to values", "e.g. aspirational_uplift: 1.2")
        return None
    out = {}
    for key, raw in value.items():
        key, sub = str(key), f"{path}.{key}"
        if key == "as_of":
            r.flag(sub, raw, "the as-of date is the top-level key as_of", "write as_of: 2020-01-16 at the top level")
        elif key in known:
            typed, clean = r.read(known[key], raw, sub)
            if clean:
                out[key] = typed
        elif isinstance(raw, (str, int, float)) and not isinstance(raw, bool):
            out[key] = str(raw)  # another key of assumptions.csv: checked against the plan
        else:
            r.flag(sub, raw, f"{sub} must be a single value", "write key: value")
    return out


# --- the schema: every key a scenario may hold (scenarios/README.md documents each) ----------------

_NAMES = {"name_zh": text, "name_en": text}
ITEM_FIELDS = {
    **_NAMES, "status": choice(Status), "plan_start": nullable(date), "plan_finish": date,
    "start_aspirational": boolean, "finish_aspirational": boolean, "duration_days": nullable(number(low=0)),
    "multiplier": nullable(distribution(days=False)), "project_type": ident, "calendar": ident, "outdoor": boolean,
    "resource_unit": nullable(ident), "investment_cny_100m": nullable(number(low=0)),
}
COST_CLASS_FIELDS = {"multiplier": distribution(days=False), "rho_schedule": number(-1, 1),
                     "standing_per_year": number(low=0), "profile_a": number(above=0), "profile_b": number(above=0)}
RESPONSE_FIELDS = {"cost_cny_100m": number(low=0), "value": number(low=0)}
CLASS_FIELDS = {"name_en": text, "multiplier": distribution(days=False), "scale": number(above=0),
                "sigma_scale": number(above=0), "in_progress_sigma_scaling": boolean}
ADJUST_FIELDS = {"select": selectors, "status": statuses, "multiplier_scale": number(above=0),
                 "wait_scale": number(low=0)}
RISK_FIELDS = {**_NAMES, "probability": number(0, 1), "impact": distribution(days=True), "targets": selectors,
               "mode": choice(RiskMode), "phase": choice(RiskPhase)}
SHOCK_FIELDS = {**_NAMES, "probability": number(0, 1), "window_start": date, "window_end": date,
                "length": distribution(days=True), "affects": selectors}
FACTOR_FIELDS = {"loading": number(0, 1), "members": selectors}
CORRELATION_FIELDS = {"a": ident, "b": ident, "rho": number(-1, 1)}
KPI_FIELDS = {**_NAMES, "baseline": number(low=0), "rate_per_year": number(), "rate_cv": number(low=0),
              "attrition_years": nullable(number(above=0)), "renewal_prob": number(0, 1),
              "volatility": number(low=0)}
UNIT_FIELDS = {**_NAMES, "capacity": nullable(number(low=1, integer=True))}
WINDOW_FIELDS = {"start": date, "end": date, "name_en": text}
TARGET_FIELDS = {**_NAMES, "rule": choice(TargetRule), "refs": ids, "k": nullable(number(low=1, integer=True)),
                 "threshold": nullable(number()), "deadline": date, "section": ident}
LINK_FIELDS = {"pred": ident, "succ": ident, "type": choice(LinkType), "lag_days": duration}
BOOST_FIELDS = {"kpi": ident, "item": ident, "step": number(), "rate_per_year": number()}

ADD_RECORDS: dict[str, tuple[dict[str, Callable], tuple[str, ...]]] = {
    "duration_classes": ({"project_type": ident, "name_en": text, "multiplier": distribution(days=False),
                          "in_progress_sigma_scaling": boolean}, ("project_type", "name_en", "multiplier")),
    "units": ({"id": ident, **UNIT_FIELDS}, ("id", "name_en")),
    "items": ({"id": ident, "group": ident, "campaign": ident, "units": unit_ids,
               **ITEM_FIELDS},
              ("id", "campaign", "name_en", "project_type", "status", "plan_finish")),
    "links": (LINK_FIELDS, ("pred", "succ", "type")),
    "risks": ({"id": ident, **RISK_FIELDS}, ("id", "probability", "impact", "targets")),
    "shocks": ({"id": ident, **SHOCK_FIELDS}, ("id", "probability", "window_start", "length", "affects")),
    "targets": ({"id": ident, **TARGET_FIELDS}, ("id", "rule", "refs", "deadline")),
    "kpi_boosts": (BOOST_FIELDS, ("kpi", "item")),
}
REMOVE_RECORDS: dict[str, tuple[dict[str, Callable], tuple[str, ...]] | None] = {
    "items": None, "risks": None, "shocks": None, "targets": None, "factors": None,  # lists of ids
    "links": ({"pred": ident, "succ": ident, "type": choice(LinkType)}, ("pred", "succ")),
    "kpi_boosts": ({"kpi": ident, "item": ident}, ("kpi", "item")),
}
ADD_FIELDS = {k: list_of(record(f, required=r)) for k, (f, r) in ADD_RECORDS.items()}
REMOVE_FIELDS = {k: ids if spec is None else list_of(record(spec[0], required=spec[1]))
                 for k, spec in REMOVE_RECORDS.items()}
ASSUMPTION_KEYS = ("checkpoints", "aspirational_uplift", "horizon_years", "preconstruction_type")
SCHEMA: dict[str, Callable] = {
    "description": text,
    "extends": text,
    "as_of": date,
    "assumptions": _assumption_values,
    "remove": record(REMOVE_FIELDS),
    "add": record(ADD_FIELDS),
    "duration_classes": by_id(record(CLASS_FIELDS)),
    "units": by_id(record(UNIT_FIELDS)),
    "calendars": by_id(list_of(record(WINDOW_FIELDS, required=("start", "end")))),
    "items": by_id(record(ITEM_FIELDS)),
    "factors": by_id(record(FACTOR_FIELDS)),
    "correlations": list_of(record(CORRELATION_FIELDS, required=("a", "b", "rho"))),
    "risks": by_id(record(RISK_FIELDS)),
    "shocks": by_id(record(SHOCK_FIELDS)),
    "kpis": by_id(record(KPI_FIELDS)),
    "targets": by_id(record(TARGET_FIELDS)),
    "adjust": list_of(record(ADJUST_FIELDS, required=("select",))),
    "slip": by_id(duration),
    "cost_classes": by_id(record(COST_CLASS_FIELDS)),
    "responses": by_id(record(RESPONSE_FIELDS)),
    "apply_responses": ids,
}
#: The order in which the sections of one file are applied (see scenarios/README.md).
SECTION_ORDER = ("as_of", "assumptions", "remove", "add", "duration_classes", "cost_classes", "units", "calendars",
                 "items", "factors", "correlations", "risks", "shocks", "kpis", "targets", "responses",
                 "apply_responses", "adjust", "slip")


def schema_keys() -> frozenset[str]:
    """Every documented key as a dotted path without ids: ``items.multiplier``, ``add.links.lag_days``, ``slip``."""
    nested: dict[str, Iterable[str]] = {"duration_classes": CLASS_FIELDS, "units": UNIT_FIELDS, "calendars": WINDOW_FIELDS,
              "items": ITEM_FIELDS, "factors": FACTOR_FIELDS, "correlations": CORRELATION_FIELDS,
              "risks": RISK_FIELDS, "shocks": SHOCK_FIELDS, "kpis": KPI_FIELDS, "targets": TARGET_FIELDS,
              "adjust": ADJUST_FIELDS, "assumptions": dict.fromkeys(ASSUMPTION_KEYS),
              "cost_classes": COST_CLASS_FIELDS, "responses": RESPONSE_FIELDS}
    keys = {k for k in SCHEMA if k not in nested and k not in ("add", "remove")}
    keys |= {f"{k}.{f}" for k, fields in nested.items() for f in fields}
    keys |= {f"add.{k}.{f}" for k, (fields, _) in ADD_RECORDS.items() for f in fields}
    keys |= {f"remove.{k}" if spec is None else f"remove.{k}.{f}" for k, spec in REMOVE_RECORDS.items()
             for f in (spec[0] if spec else [None])}
    return frozenset(keys)
