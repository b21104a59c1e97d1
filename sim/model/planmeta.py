"""Plan metadata as data: ``params/plan.yaml`` (title, document, dates, campaigns, sections).

Nothing in ``sim/`` names one plan's title, dates, campaigns or target sections:
they are read from ``plan.yaml`` beside the CSV files. The file is optional; a
params directory without it gets neutral defaults derived from its rows (the
campaigns and sections found in items.csv and targets.csv, labelled by their
ids; the latest target deadline as the programme end).

Layout (every key optional except where said)::

    title:    {zh: 湖滨新城品质提升三年行动计划, en: Lakeside New Town three-year action plan}
    document: {zh: 湖新办〔2023〕2号, en: "Lakeside New Town Office [2023] No. 2"}
    as_of: 2023-03-01                 # must agree with assumptions.csv as_of when both give it
    checkpoints: [2023-12-31, 2024-12-31, 2025-12-31]
    end_dates:                        # the programme's end dates, in order; the last is the programme end
      - {date: 2024-06-30, zh: 2024年中, en: mid-2024}
      - {date: 2025-12-31, zh: 2025年底, en: end-2025}
    campaigns:                        # open list, in display order
      - {id: greenway, zh: 环湖绿道贯通行动, en: Lakeshore greenway campaign}
      - {id: external, zh: 计划外里程碑, en: External milestones, external: true}
    sections:                         # target sections, in display order
      - {id: key, zh: 核心指标, en: Key targets}

Accessors (one per concept) take a :class:`~sim.model.entities.Plan` and,
where text is returned, a language ``"zh"`` or ``"en"``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sim.model.problems import Problem

PLAN_FILE = "plan.yaml"
_ID = re.compile(r"[A-Za-z0-9_.-]+")


@dataclass(frozen=True, slots=True)
class Label:
    """An entry of an open list (campaign, section, end date) with its zh/en labels."""

    id: str
    zh: str
    en: str
    external: bool = False  # campaigns only: milestones outside the plan (not counted for units)


@dataclass(frozen=True, slots=True)
class EndDate:
    """One of the programme's end dates (e.g. a mid-term and a final milestone)."""

    date: dt.date
    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class PlanMeta:
    """What ``plan.yaml`` says; ``given`` is False for defaults derived from the rows."""

    title_zh: str = ""
    title_en: str = ""
    document_zh: str = ""
    document_en: str = ""
    as_of: dt.date | None = None
    checkpoints: tuple[dt.date, ...] = ()
    end_dates: tuple[EndDate, ...] = ()
    campaigns: tuple[Label, ...] = ()
    sections: tuple[Label, ...] = ()
    given: bool = False
    source: str = field(default="", compare=False)


# --- reading ---------------------------------------------------------------------------

def read_meta(params_dir: Path) -> tuple[PlanMeta | None, list[Problem]]:
    """Read ``plan.yaml`` of ``params_dir``: (meta or None when absent, problems)."""
    path = Path(params_dir) / PLAN_FILE
    if not path.exists():
        return None, []
    from sim.model.inputfile import InputFileError, read_input_bytes
    from sim.model.yamlsafe import MAX_BYTES, load

    try:
        text = read_input_bytes(path, limit=MAX_BYTES).decode("utf-8")
        if "\0" in text:
            return None, [Problem(PLAN_FILE, text[:text.index("\0")].count("\n") + 1, None, None,
                                  "plan.yaml holds a NUL byte", "save it as plain UTF-8 text")]
        raw = load(text)
    except InputFileError as exc:
        return None, [Problem(PLAN_FILE, None, None, None, f"plan.yaml {exc}", "give plan.yaml as a regular file")]
    except UnicodeDecodeError:
        return None, [Problem(PLAN_FILE, None, None, None, "plan.yaml is not UTF-8 text", "save it as UTF-8")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        return None, [Problem(PLAN_FILE, line, None, None, f"plan.yaml is not valid YAML: {getattr(exc, 'problem', exc)}",
                              "check indentation and quotes")]
    except ValueError as exc:  # a YAML timestamp that is no real date, e.g. 2022-02-30
        return None, [Problem(PLAN_FILE, None, None, None, f"plan.yaml has a date that is no real date ({exc})",
                              "write dates as YYYY-MM-DD, e.g. 2025-12-31")]
    return parse_meta(raw, source=str(path))


def parse_meta(raw: Any, *, source: str = PLAN_FILE) -> tuple[PlanMeta | None, list[Problem]]:
    """Check and convert the parsed YAML mapping of plan.yaml."""
    problems: list[Problem] = []

    def flag(key: str, value: Any, message: str, hint: str) -> None:
        problems.append(Problem(PLAN_FILE, None, key, None if value is None else str(value), message, hint))

    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        flag("", None, "plan.yaml must be a mapping of keys (title, end_dates, campaigns, ...)",
             "start each line with a key, e.g. 'title: {zh: ..., en: ...}'")
        return None, problems
    known = {"title", "document", "as_of", "checkpoints", "end_dates", "campaigns", "sections"}
    for key in raw:
        if key not in known:
            flag(str(key), None, f"unknown key {key!r} in plan.yaml", "known keys: " + ", ".join(sorted(known)))

    def pair(key: str) -> tuple[str, str]:
        value = raw.get(key)
        if value is None:
            return "", ""
        if isinstance(value, str):
            return value, value
        if not isinstance(value, dict) or set(value) - {"zh", "en"}:
            flag(key, value, f"{key} must be {{zh: ..., en: ...}}", f"e.g. {key}: {{zh: 计划, en: Plan}}")
            return "", ""
        return str(value.get("zh") or value.get("en") or ""), str(value.get("en") or value.get("zh") or "")

    def date(key: str, value: Any) -> dt.date | None:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        flag(key, value, f"{key} must be a date YYYY-MM-DD", "e.g. 2025-12-31")
        return None

    title, document = pair("title"), pair("document")
    as_of = date("as_of", raw["as_of"]) if raw.get("as_of") is not None else None
    checkpoints: list[dt.date] = []
    cps = raw.get("checkpoints") or []
    if not isinstance(cps, list):
        flag("checkpoints", cps, "checkpoints must be a list of dates", "e.g. [2024-12-31, 2025-12-31]")
        cps = []
    for value in cps:
        d = date("checkpoints", value)
        if d is not None:
            checkpoints.append(d)
    ends: list[EndDate] = []
    for k, entry in enumerate(_entries(raw, "end_dates", flag)):
        d = date(f"end_dates[{k}].date", entry.get("date"))
        if d is not None:
            ends.append(EndDate(d, str(entry.get("zh") or entry.get("en") or d), str(entry.get("en") or
                                                                                     entry.get("zh") or d)))
    if ends != sorted(ends, key=lambda e: e.date):
        flag("end_dates", None, "end_dates must be in date order (the last is the programme end)",
             "sort the list by date")
    lists = {}
    for key in ("campaigns", "sections"):
        labels, seen = [], set()
        for k, entry in enumerate(_entries(raw, key, flag)):
            ident = str(entry.get("id", ""))
            if not _ID.fullmatch(ident):
                flag(f"{key}[{k}].id", ident, f"{key} entry {k + 1} needs an id of letters, digits, _ . -",
                     "e.g. id: transport")
                continue
            if ident in seen:
                flag(f"{key}[{k}].id", ident, f"duplicate {key} id {ident!r}", "give each entry its own id")
                continue
            seen.add(ident)
            extra = set(entry) - {"id", "zh", "en", "external"}
            if extra:
                flag(f"{key}[{k}]", ", ".join(map(str, extra)), f"unknown keys in {key} entry {ident!r}",
                     "an entry has id, zh, en" + (" and external" if key == "campaigns" else ""))
            labels.append(Label(ident, str(entry.get("zh") or entry.get("en") or ident),
                                str(entry.get("en") or entry.get("zh") or ident), bool(entry.get("external", False))))
        lists[key] = tuple(labels)
    meta = PlanMeta(title_zh=title[0], title_en=title[1], document_zh=document[0], document_en=document[1],
                    as_of=as_of, checkpoints=tuple(sorted(checkpoints)), end_dates=tuple(ends),
                    campaigns=lists["campaigns"], sections=lists["sections"], given=True, source=source)
    return (None if problems else meta), problems


def _entries(raw: dict, key: str, flag) -> list[dict]:
    value = raw.get(key) or []
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        flag(key, None, f"{key} must be a list of mappings", f"e.g. {key}:\n  - {{id: a, zh: 甲, en: A}}")
        return []
    return value


def complete(meta: PlanMeta | None, *, campaigns: list[str], sections: list[str], deadlines: list[dt.date],
             name: str) -> PlanMeta:
    """``meta`` with what it leaves out derived from the rows (ids in first-seen order, latest deadline)."""
    meta = meta or PlanMeta(title_zh=name, title_en=name)
    if not meta.campaigns:
        meta = _replace(meta, campaigns=tuple(Label(c, c, c) for c in dict.fromkeys(campaigns)))
    if not meta.sections:
        meta = _replace(meta, sections=tuple(Label(s, s, s) for s in dict.fromkeys(sections) if s))
    if not meta.end_dates and deadlines:
        end = max(deadlines)
        meta = _replace(meta, end_dates=(EndDate(end, end.isoformat(), end.isoformat()),))
    return meta


def _replace(meta: PlanMeta, **changes) -> PlanMeta:
    from dataclasses import replace
    return replace(meta, **changes)


def dump_meta(meta: PlanMeta) -> str:
    """plan.yaml text for ``meta`` (as written by the importers)."""
    data: dict[str, Any] = {"title": {"zh": meta.title_zh, "en": meta.title_en}}
    if meta.document_zh or meta.document_en:
        data["document"] = {"zh": meta.document_zh, "en": meta.document_en}
    if meta.as_of:
        data["as_of"] = meta.as_of.isoformat()
    if meta.checkpoints:
        data["checkpoints"] = [d.isoformat() for d in meta.checkpoints]
    data["end_dates"] = [{"date": e.date.isoformat(), "zh": e.zh, "en": e.en} for e in meta.end_dates]
    for key in ("campaigns", "sections"):
        data[key] = [{"id": c.id, "zh": c.zh, "en": c.en} | ({"external": True} if c.external else {})
                     for c in getattr(meta, key)]
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=120)


# --- accessors: one per concept --------------------------------------------------------

def _meta(plan) -> PlanMeta:
    meta = getattr(plan, "meta", None)
    if meta is None:  # a plan built in code (tests, old snapshots): derive from its rows
        meta = complete(None, campaigns=[str(i.campaign) for i in plan.items],
                        sections=[t.section for t in plan.targets], deadlines=[t.deadline for t in plan.targets]
                        or [i.plan_finish for i in plan.items], name=getattr(plan, "origin", "") or "plan")
    return meta


def _text(zh: str, en: str, lang: str) -> str:
    return (zh or en) if str(lang) == "zh" else (en or zh)


def plan_title(plan, lang: str) -> str:
    """The plan's title in ``lang``."""
    m = _meta(plan)
    return _text(m.title_zh, m.title_en, lang)


def plan_document(plan, lang: str) -> str:
    """The plan's document number (e.g. 湖新办〔2023〕2号) in ``lang``; empty when not given."""
    m = _meta(plan)
    return _text(m.document_zh, m.document_en, lang)


def end_dates(plan) -> tuple[EndDate, ...]:
    """The programme's end dates in date order (the last is the programme end)."""
    return _meta(plan).end_dates


def programme_end(plan) -> dt.date:
    """The programme's end: the last end date (the latest plan finish when none is known)."""
    ends = end_dates(plan)
    if ends:
        return ends[-1].date
    return max((i.plan_finish for i in plan.items), default=plan.as_of)


def programme_end_label(plan, lang: str) -> str:
    """Label of the programme's end date in ``lang``."""
    ends = end_dates(plan)
    return _text(ends[-1].zh, ends[-1].en, lang) if ends else programme_end(plan).isoformat()


def period(plan) -> tuple[int, int]:
    """(first year, last year) of the plan: the as-of year and the programme end's year."""
    return plan.as_of.year, programme_end(plan).year


def campaigns(plan) -> tuple[Label, ...]:
    """The campaigns in display order."""
    return _meta(plan).campaigns


def _label(labels: tuple[Label, ...], key: str, lang: str) -> str:
    """Label of ``key`` among ``labels`` in ``lang`` (the id itself when unknown)."""
    for x in labels:
        if x.id == key:
            return _text(x.zh, x.en, lang)
    return str(key)


def campaign_label(plan, campaign: str, lang: str) -> str:
    """Label of ``campaign`` in ``lang`` (the id itself when unknown)."""
    return _label(campaigns(plan), campaign, lang)


def external_campaigns(plan) -> frozenset[str]:
    """Campaigns marked external: milestones outside the plan, not counted for units."""
    return frozenset(c.id for c in campaigns(plan) if c.external)


def sections(plan) -> tuple[Label, ...]:
    """The target sections in display order."""
    return _meta(plan).sections


def section_label(plan, section: str, lang: str) -> str:
    """Label of target ``section`` in ``lang`` (the id itself when unknown)."""
    return _label(sections(plan), section, lang)


def section_order(plan) -> tuple[str, ...]:
    """Section ids in display order (the first is the headline section)."""
    return tuple(s.id for s in sections(plan))


def headline_section(plan) -> str:
    """The first section: the plan's headline targets."""
    order = section_order(plan)
    return order[0] if order else "headline"
