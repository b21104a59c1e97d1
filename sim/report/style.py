"""Matplotlib style of the report: the CJK font, a quiet look, figure helpers."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Literal
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from sim.report.fonts import Lang, cjk_font, resolve_lang  # noqa: E402

PALETTE = ("#1f5f8b", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d6a9f", "#6c757d", "#2e4057")
PLAN_COLOR = "#c0392b"
BAND_COLOR = "#9ecae1"


def rc(lang: Lang | str) -> dict:
    """rcParams for a chart in ``lang``: the CJK font first whenever one exists (it covers Latin too)."""
    font = cjk_font()
    families = ([font.family] if font else []) + ["DejaVu Sans"]
    return {
        # concrete names, not "sans-serif": a Text keeps its family, so a figure drawn
        # later, outside this style, still finds the CJK font
        "font.family": families,
        "axes.unicode_minus": False,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.titleweight": "normal",  # the packaged CJK font has one weight
        "axes.titlesize": "large",
        "figure.dpi": 100,
        "savefig.dpi": 130,
        "svg.fonttype": "path",
    }


@contextlib.contextmanager
def styled(lang: Lang | str) -> Iterator[Lang]:
    """Context in which chart text is created (and saved) in ``lang``; yields the effective language."""
    effective = resolve_lang(lang)
    with plt.rc_context(rc(effective)):
        yield effective


def new_axes(ax: Axes | None, *, size: tuple[float, float]) -> tuple[Figure, Axes]:
    """``ax`` and its figure, or a new figure of ``size`` inches with one axes."""
    if ax is not None:
        return figure_of(ax), ax
    fig = new_figure(size)
    return fig, fig.add_subplot()


def figure_of(ax: Axes) -> Figure:
    """The figure ``ax`` draws on (the charts never use subfigures)."""
    fig = ax.figure
    if not isinstance(fig, Figure):
        raise TypeError("a chart cannot be drawn on an axes inside a subfigure")
    return fig


def new_figure(size: tuple[float, float], *,
               layout: Literal["constrained", "compressed", "tight"] | None = "constrained") -> Figure:
    """A figure of ``size`` inches on an Agg canvas (no pyplot, no window, nothing global).

    ``layout=None`` for a figure that calls ``tight_layout`` itself (e.g. to leave room for a footer).
    """
    fig = Figure(figsize=size, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def add_footer(fig: Figure, text: str, *, lang: Lang | str, height_in: float = 0.22) -> None:
    """Write ``text`` in a band added below the chart (the figure grows; nothing overlaps it)."""
    from matplotlib.layout_engine import ConstrainedLayoutEngine, TightLayoutEngine

    w, h = fig.get_size_inches()
    fig.set_size_inches(w, h + height_in)
    band = height_in / (h + height_in)
    engine = fig.get_layout_engine()
    if isinstance(engine, ConstrainedLayoutEngine):
        engine.set(rect=(0, band, 1, 1 - band))
    elif isinstance(engine, TightLayoutEngine):
        engine.set(rect=(0, band, 1, 1))
    else:  # fixed positions: squeeze every axes into the part above the band
        for ax in fig.axes:
            pos = ax.get_position()
            ax.set_position((pos.x0, band + pos.y0 * (1 - band), pos.width, pos.height * (1 - band)))
    with plt.rc_context(rc(lang)):
        fig.text(0.005, band * 0.25, text, fontsize=7, color="#555555", ha="left", va="bottom")


PNG_COLOURS = 128  # palette PNG: charts use a few dozen colours plus anti-aliasing ramps; ~3x smaller than RGBA
PNG_DPI = 100  # the HTML shows charts at most ~1100 px wide, which 100 dpi already gives for the widest chart


def png_bytes(fig: Figure, *, lang: Lang | str, dpi: int = PNG_DPI) -> bytes:
    """``fig`` as a palette PNG (drawn once on the Agg canvas, quantised, zlib level 6)."""
    import io

    from PIL import Image

    with plt.rc_context(rc(lang)):
        fig.set_dpi(dpi)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        rgba = canvas.buffer_rgba()
        im = Image.frombuffer("RGBA", canvas.get_width_height(), rgba, "raw", "RGBA", 0, 1)
        pal = im.convert("RGB").quantize(colors=PNG_COLOURS, method=Image.Quantize.FASTOCTREE,
                                         dither=Image.Dither.NONE)
        buf = io.BytesIO()
        pal.save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def save(fig: Figure, path: Path, *, lang: Lang | str, svg: bool = False) -> list[Path]:
    """Write ``fig`` as a palette PNG (and an SVG beside it when ``svg``); returns the paths written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    png = path.with_suffix(".png")
    png.write_bytes(png_bytes(fig, lang=lang))
    out = [png]
    if svg:
        with plt.rc_context(rc(lang)):
            p = path.with_suffix(".svg")
            fig.savefig(p, metadata={"Date": None})
            out.append(p)
    return out
