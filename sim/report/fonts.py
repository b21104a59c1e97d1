"""A real CJK font for the charts, or English with one clear warning.

Where the font comes from, in order:

1. the ``noto-cjk-sans-otc`` wheel (Noto Sans CJK, SIL OFL 1.1), a dependency
   of this package, so ``pip install`` brings it to any machine;
2. any font installed on the system that matplotlib finds (e.g. Debian's
   ``fonts-noto-cjk``, WenQuanYi, Source Han Sans, SimHei, Microsoft YaHei).

A candidate is accepted only if it has glyphs for every character of a probe
string: a family *name* is no proof, tofu boxes are what a missing glyph looks like.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from enum import StrEnum

from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

PROBE = "计划目标完成概率责任单位年度比拼交付进度风险分析"
PREFERRED = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "Noto Sans CJK TC",
    "Noto Sans CJK JP",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Droid Sans Fallback",
)


class Lang(StrEnum):
    ZH = "zh"
    EN = "en"


@dataclass(frozen=True)
class CjkFont:
    family: str
    path: str
    face_index: int


def has_glyphs(path: str, text: str, *, face_index: int = 0) -> bool:
    """True if the font face has a glyph (index != 0) for every non-space character of ``text``."""
    font = FT2Font(path, face_index=face_index) if face_index else FT2Font(path)
    return all(font.get_char_index(ord(ch)) != 0 for ch in set(text) if not ch.isspace())


def _register_packaged_font() -> None:
    try:
        import noto_cjk_sans_otc
    except ImportError:
        return
    path = str(noto_cjk_sans_otc.FONT_PATH)
    if not any(e.fname == path for e in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(path)


@functools.cache
def cjk_font() -> CjkFont | None:
    """The best available font with Chinese glyphs, registered with matplotlib; None if none."""
    _register_packaged_font()
    rank = {name: k for k, name in enumerate(PREFERRED)}
    entries = [e for e in font_manager.fontManager.ttflist if e.name in rank or "CJK" in e.name]
    entries.sort(key=lambda e: (rank.get(e.name, len(rank)), e.weight != 400, e.style != "normal"))
    for e in entries:
        index = int(getattr(e, "index", 0) or 0)
        try:
            if has_glyphs(e.fname, PROBE, face_index=index):
                return CjkFont(e.name, e.fname, index)
        except (OSError, RuntimeError, ValueError):
            continue
    return None


@functools.cache
def _warn_no_cjk() -> None:
    warnings.warn(
        "no font with Chinese glyphs found (the noto-cjk-sans-otc package or Debian's "
        "fonts-noto-cjk provide one): the report falls back to English",
        RuntimeWarning,
        stacklevel=3,
    )


def resolve_lang(lang: str | Lang) -> Lang:
    """``lang`` if it can be rendered; Chinese without a CJK font falls back to English (one warning)."""
    lang = Lang(lang)
    if lang is Lang.ZH and cjk_font() is None:
        _warn_no_cjk()
        return Lang.EN
    return lang
