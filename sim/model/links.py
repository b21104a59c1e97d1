"""The link-type registry: what each dependency type (FS, SS, FF, SYNC) means, in one place.

A link ``pred -> succ`` of a type references one end (start or finish) of the
predecessor and constrains one end of the successor, plus its lag::

    FS   succ.start  >= pred.finish + lag
    SS   succ.start  >= pred.start  + lag
    FF   succ.finish >= pred.finish + lag
    SYNC succ.finish == pred.finish         (同步建成: symmetric, no direction, no lag)

Loading, validation, the compiled model, the actuals, the analyses and the report
consult :data:`LINKS` (or :func:`kind`) instead of naming the types. To add a link
type: a member of :class:`sim.model.enums.LinkType` and its :class:`LinkKind` here;
the engines follow the compiled lists (``CompiledModel.start_preds``/``ff_preds``/
``order``) that :mod:`sim.engine.compiled` builds from this table.

>>> kind(LinkType.SS).pred_end, kind(LinkType.SS).succ_end
(<End.START: 'start'>, <End.START: 'start'>)
>>> [t.value for t in LinkType if kind(t).gates_start]
['FS', 'SS']
>>> kind(LinkType.SYNC).symmetric, kind(LinkType.SYNC).lag_allowed
(True, False)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sim.model.enums import LinkType


class End(StrEnum):
    """An end of an item: the event a link references or constrains."""

    START = "start"
    FINISH = "finish"


@dataclass(frozen=True, slots=True)
class LinkKind:
    """The meaning of one link type.

    ``pred_end``: the predecessor's event the link references; ``succ_end``: the
    successor's event it constrains; ``symmetric``: both items are bound alike
    (SYNC: each finishes when the later of the two would, so they form one group
    and the link has no direction); ``lag_allowed``: whether ``lag_days`` may be
    non-zero; ``label_en``/``label_zh``: how the report names it.
    """

    type: LinkType
    pred_end: End
    succ_end: End
    symmetric: bool
    lag_allowed: bool
    label_en: str
    label_zh: str

    @property
    def gates_start(self) -> bool:
        """The successor cannot start before the referenced event (+ lag): FS, SS."""
        return not self.symmetric and self.succ_end is End.START

    @property
    def gates_finish(self) -> bool:
        """The successor cannot finish before the referenced event (+ lag), one way: FF."""
        return not self.symmetric and self.succ_end is End.FINISH

    @property
    def refs_finish(self) -> bool:
        """The link waits for the predecessor's finish (FS, FF, SYNC), not its start (SS)."""
        return self.pred_end is End.FINISH


LINKS: dict[LinkType, LinkKind] = {k.type: k for k in (
    LinkKind(LinkType.FS, End.FINISH, End.START, symmetric=False, lag_allowed=True,
             label_en="FS (finish-start)", label_zh="FS（完成—开始）"),
    LinkKind(LinkType.SS, End.START, End.START, symmetric=False, lag_allowed=True,
             label_en="SS (start-start)", label_zh="SS（开始—开始）"),
    LinkKind(LinkType.FF, End.FINISH, End.FINISH, symmetric=False, lag_allowed=True,
             label_en="FF (finish-finish)", label_zh="FF（完成—完成）"),
    LinkKind(LinkType.SYNC, End.FINISH, End.FINISH, symmetric=True, lag_allowed=False,
             label_en="SYNC (finish together)", label_zh="SYNC（同步建成）"),
)}


def kind(link_type: LinkType) -> LinkKind:
    """The meaning of ``link_type`` (every :class:`LinkType` member is registered)."""
    return LINKS[link_type]


def directed(link_type: LinkType) -> bool:
    """Whether a link of this type has a direction (an edge of the dependency graph), i.e. is not symmetric."""
    return not LINKS[link_type].symmetric


FINISH_REFERENCING: tuple[LinkType, ...] = tuple(t for t, k in LINKS.items() if k.refs_finish)
