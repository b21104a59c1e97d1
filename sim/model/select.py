"""Selectors: which items a factor, risk or shock applies to.

A selector (params/README.md, "Selectors") is one of ``all``,
``type:<project_type>``, ``campaign:<campaign>``, ``unit:<unit id>``,
``group:<group id>`` or an item id. A list of selectors matches the union.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Sequence

from sim.model.entities import Item, Plan
from sim.model.enums import Selector


def parse_selector(selector: str) -> tuple[Selector | None, str]:
    """Split a selector into its prefix and value.

    Parameters
    ----------
    selector
        E.g. ``type:rail``, ``all`` or ``T05.1``.

    Returns
    -------
    (prefix, value)
        ``(Selector.ALL, "")`` for ``all`` (likewise ``outdoor``); ``(None, item_id)`` for an item id.

    Raises
    ------
    ValueError
        When the text before ``:`` is not a selector prefix.
    """
    text = selector.strip()
    if text in (Selector.ALL, Selector.OUTDOOR):  # words without a value
        return Selector(text), ""
    if ":" not in text:
        return None, text
    head, _, value = text.partition(":")
    try:
        prefix = Selector(head.strip())
    except ValueError:
        raise ValueError(f"unknown selector prefix {head.strip()!r} in {selector!r}") from None
    if prefix in (Selector.ALL, Selector.OUTDOOR):
        raise ValueError(f"'{prefix}' takes no value, got {selector!r}")
    return prefix, value.strip()


def matches(item: Item, selector: str) -> bool:
    """Whether ``item`` is matched by one ``selector``."""
    prefix, value = parse_selector(selector)
    return _matches_parsed(item, prefix, value)


def _matches_parsed(item: Item, prefix: Selector | None, value: str) -> bool:
    if prefix is None:
        return item.id == value
    if prefix is Selector.ALL:
        return True
    if prefix is Selector.OUTDOOR:
        return item.outdoor
    if prefix is Selector.TYPE:
        return item.project_type == value
    if prefix is Selector.CAMPAIGN:
        return item.campaign == value
    if prefix is Selector.UNIT:
        return value in item.units
    if prefix is Selector.GROUP:
        return item.group == value
    raise AssertionError(f"selector prefix {prefix!r} has no rule")  # Selector gained a member


def resolve(plan_or_items: Plan | Iterable[Item], selectors: Sequence[str]) -> tuple[str, ...]:
    """Ids of the items matched by any of ``selectors``, in file order.

    Parameters
    ----------
    plan_or_items
        A :class:`Plan` or its items.
    selectors
        Selectors as in params/README.md.

    Returns
    -------
    tuple of str
        Matching item ids, each once, in the order of items.csv.

    Raises
    ------
    ValueError
        For a malformed selector (unknown prefix); validation reports these
        before a plan exists.
    """
    if isinstance(plan_or_items, Plan):
        items, memo = plan_or_items.items, plan_or_items.derived
    else:
        items, memo = tuple(plan_or_items), {}
    parsed = [parse_selector(s) for s in selectors]  # each selector parsed once, not once per item
    ids = {value for prefix, value in parsed if prefix is None}
    for prefix, value in parsed:
        if prefix is not None:
            key = ("select", prefix, value)
            if key not in memo:  # one pass over the items per distinct selector of a plan
                memo[key] = frozenset(it.id for it in items if _matches_parsed(it, prefix, value))
            ids |= memo[key]
    return tuple(item.id for item in items if item.id in ids)


def selector_problem(selector: str, *, item_ids: Collection[str] | None, groups: Collection[str] | None,
                     unit_ids: Collection[str] | None,
                     project_types: Collection[str] | None,
                     campaigns: Collection[str] | None = None) -> tuple[str, str] | None:
    """Say what is wrong with a selector, given the ids the plan knows.

    A collection given as None is unknown (its file could not be read) and is
    not checked, so that one broken file does not cascade into many problems.

    Parameters
    ----------
    selector
        One selector.
    item_ids, groups, unit_ids, project_types
        Known item ids, annex groups, unit ids and project types.

    Returns
    -------
    (message, hint) or None
        None when the selector names something that exists.
    """
    try:
        prefix, value = parse_selector(selector)
    except ValueError as exc:
        words = (Selector.ALL, Selector.OUTDOOR)
        allowed = "all, outdoor, " + ", ".join(f"{p}:<...>" for p in Selector if p not in words) + ", <item id>"
        return str(exc), f"a selector is one of: {allowed}"
    known, what, home = {
        None: (item_ids, "item id", "items.csv id"),
        Selector.TYPE: (project_types, "project type", "duration_classes.csv project_type"),
        Selector.CAMPAIGN: (campaigns, "campaign", "plan.yaml campaigns id"),
        Selector.UNIT: (unit_ids, "unit", "units.csv id"),
        Selector.GROUP: (groups, "group", "items.csv group"),
        Selector.ALL: (None, "", ""),
        Selector.OUTDOOR: (None, "", ""),
    }[prefix]
    if known is None or value in known:
        return None
    return f"unknown {what} {value!r} in selector {selector!r}", unknown_hint(value, known, home=home)


def unknown_hint(value: str, known: Collection[str], *, home: str) -> str:
    """Hint for an unknown id: the closest known ids, or where the ids come from."""
    close = difflib.get_close_matches(value, list(known), n=3, cutoff=0.6)
    if close:
        return f"did you mean {' or '.join(close)}? (known {home} values)"
    if len(known) <= 8:
        return f"use one of the {home} values: {', '.join(sorted(known))}"
    return f"use one of the {home} values, or add the missing row"
