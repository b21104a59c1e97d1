"""Embed the Chinese glyphs the report uses as a web font, so the HTML is self-contained.

A browser without a CJK font would show Chinese as tofu boxes. The report
therefore carries a subset of the chart font (Noto Sans CJK, SIL OFL 1.1, which
allows embedding and subsetting) holding exactly the CJK characters in the page,
as a base64 WOFF ``@font-face``. A report with no CJK text embeds nothing.
"""

from __future__ import annotations

import base64
import io
import re

from sim.report.fonts import cjk_font

FAMILY = "ReportCJK"
# CJK punctuation, kana, ideographs, compatibility forms and full-width forms
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")


def cjk_characters(text: str) -> str:
    """The distinct CJK characters of ``text``, sorted."""
    return "".join(sorted(set(_CJK.findall(text))))


def font_face_css(text: str) -> str:
    """An ``@font-face`` rule embedding the glyphs of ``text``'s CJK characters; '' if none or no font."""
    chars = cjk_characters(text)
    font = cjk_font()
    if not chars or font is None:
        return ""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.flavor = "woff"  # zlib: no extra dependency (woff2 would need brotli)
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    buf = io.BytesIO()
    # no bounding-box recalculation on save (it re-runs every CFF glyph program: half the subsetting
    # time; the boxes of the source font stay valid for its subset) and no new timestamp (the same
    # page text gives the same bytes)
    with TTFont(font.path, fontNumber=font.face_index, lazy=True, recalcBBoxes=False,
                recalcTimestamp=False) as tt:
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=chars + " ")
        subsetter.subset(tt)
        tt.flavor = "woff"
        tt.save(buf)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (f'@font-face{{font-family:"{FAMILY}";src:url(data:font/woff;base64,{data}) format("woff");'
            "font-display:block}")
