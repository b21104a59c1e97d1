"""The self-contained HTML report: inline CSS, charts as base64 PNG, sortable tables.

Every piece of text that comes from the plan, the run or the user is escaped
with :func:`html.escape`; the only markup is this module's own.
"""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass
from datetime import date

import pandas as pd

from sim.report.fonts import Lang
from sim.report.i18n import header, run_key, tr
from sim.report.tables import PCT, View, as_date
from sim.report.webfont import font_face_css



@dataclass(frozen=True)
class Marked:
    """A cell shown as ``text`` and sorted by ``sort``: "no data" (never 0 % or 100 %), a signed change."""

    text: str
    sort: float | None = None


@dataclass(frozen=True)
class Chart:
    key: str  # file stem
    title: str
    png: bytes


CSS = """
*{box-sizing:border-box}
body{font-family:"ReportCJK",system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",
"WenQuanYi Zen Hei",sans-serif;margin:0;color:#222;background:#f6f7f9;
line-height:1.45}
main{max-width:1180px;margin:0 auto;padding:16px 20px 48px}
header.top{background:#1f5f8b;color:#fff;padding:18px 20px}
header.top h1{margin:0 auto;max-width:1180px;font-size:1.5rem}
header.top p{margin:4px auto 0;max-width:1180px;opacity:.9}
nav{margin:12px 0;display:flex;flex-wrap:wrap;gap:6px 14px;font-size:.9rem}
section{background:#fff;border-radius:6px;padding:12px 16px;margin:14px 0;box-shadow:0 1px 2px rgba(0,0,0,.06)}
h2{font-size:1.2rem;margin:4px 0 10px;color:#1f5f8b}
h3{font-size:1rem;margin:14px 0 6px}
figure{margin:10px 0 18px;max-width:100%}
figure img{max-width:100%;height:auto;display:block;border:1px solid #e3e6ea}
figcaption{font-size:.85rem;color:#555;margin-top:4px}
.scroll{overflow-x:auto;max-width:100%;max-height:560px;overflow-y:auto;border:1px solid #e3e6ea}
table{border-collapse:collapse;font-size:.8rem;width:100%}
th,td{padding:3px 6px;border-bottom:1px solid #eceef1;text-align:left;vertical-align:top}
th{background:#eef2f6;position:sticky;top:0;cursor:pointer;white-space:nowrap;user-select:none}
th.asc::after{content:" \\25B2"}th.desc::after{content:" \\25BC"}
th.num{text-align:right}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.date{white-space:nowrap}
td.long{min-width:11em;max-width:30em}
dl.prov{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:2px 14px;font-size:.85rem;margin:0}
dl.prov dt{font-weight:bold}dl.prov dd{margin:0;overflow-wrap:anywhere}
p.note{font-size:.8rem;color:#666;margin:4px 0}
td.nodata{color:#777;font-style:italic;white-space:nowrap;text-align:right}
details summary{cursor:pointer;margin:6px 0}
div.tools{display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin:4px 0;font-size:.85rem}
div.tools input{flex:1 1 160px;max-width:320px;padding:3px 6px}
div.tools button{padding:2px 10px}
section.answer ul.kpis{list-style:none;padding:0;margin:0 0 8px;display:flex;flex-wrap:wrap;gap:8px}
section.answer ul.kpis li{background:#eef2f6;border-left:4px solid #1f5f8b;padding:6px 10px;font-size:1rem;flex:1 1 260px}
.scroll.short{max-height:none}
@media (max-width:600px){main{padding:8px 8px 32px}header.top{padding:12px 10px}header.top h1{font-size:1.15rem}
section{padding:8px 8px;margin:10px 0}table{font-size:.72rem}td.long{min-width:8em}}
"""

SORT_JS = """
function fmtCell(v,k){
  if(v===null||v===undefined||v===''){return '';}
  if(k==='pct'){return (v*100).toFixed(1)+'%';}
  if(k==='num'){if(Number.isInteger(v)&&Math.abs(v)<1e15){return String(v);}
    return Math.abs(v)<1?String(Number(v.toPrecision(3))):v.toLocaleString('en-US',{minimumFractionDigits:1,maximumFractionDigits:1});}
  if(k==='bool'){return v?'\u2713':'';}
  return String(v);
}
function cmp(x,y,num){
  var ex=(x===null||x===''),ey=(y===null||y==='');
  if(ex||ey){return ex===ey?0:(ex?1:-1);}
  return num?x-y:String(x).localeCompare(String(y));
}
document.querySelectorAll('div.tbl').forEach(function(box){
  var data=JSON.parse(box.querySelector('script.tdata').textContent);
  var table=box.querySelector('table'),body=table.tBodies[0],heads=table.querySelectorAll('th');
  var input=box.querySelector('input'),info=box.querySelector('.count');
  var prev=box.querySelector('button.prev'),next=box.querySelector('button.next');
  var rows=data.rows.map(function(r){return {v:r,t:r.map(function(c,i){return fmtCell(c,data.kinds[i]);}).join(' ').toLowerCase()};});
  var shown=rows,page=0,size=data.page;
  function draw(){
    var pages=Math.max(1,Math.ceil(shown.length/size)); page=Math.min(page,pages-1);
    var html=[];
    shown.slice(page*size,(page+1)*size).forEach(function(r){
      html.push('<tr>'+r.v.map(function(c,i){var k=data.kinds[i];
        var cls=(k==='pct'||k==='num')?' class="num"':(k==='date'?' class="date"':((k==='text'&&String(c).length>8)?' class="long"':''));
        var t=fmtCell(c,k).replace(/&/g,'&amp;').replace(/</g,'&lt;').replace(/>/g,'&gt;');
        return '<td'+cls+'>'+t+'</td>';}).join('')+'</tr>');
    });
    body.innerHTML=html.join('');
    info.textContent=(shown.length?(page*size+1)+'\u2013'+Math.min((page+1)*size,shown.length):'0')+' / '+shown.length+(shown.length<rows.length?' ('+rows.length+')':'');
    prev.disabled=page===0; next.disabled=page>=pages-1;
  }
  input.addEventListener('input',function(){var q=input.value.trim().toLowerCase();
    shown=q?rows.filter(function(r){return r.t.indexOf(q)>=0;}):rows; page=0; draw();});
  prev.addEventListener('click',function(){page--;draw();});
  next.addEventListener('click',function(){page++;draw();});
  heads.forEach(function(th,i){th.addEventListener('click',function(){
    var asc=!th.classList.contains('asc'),num=(data.kinds[i]==='pct'||data.kinds[i]==='num'||data.kinds[i]==='bool');
    heads.forEach(function(h){h.classList.remove('asc','desc');}); th.classList.add(asc?'asc':'desc');
    var s=rows.slice().sort(function(a,b){var r=cmp(a.v[i],b.v[i],num);return asc?r:-r;});
    rows=s; var q=input.value.trim().toLowerCase(); shown=q?rows.filter(function(r){return r.t.indexOf(q)>=0;}):rows;
    page=0; draw();});});
  draw();
});
document.querySelectorAll('table.sortable.static').forEach(function(t){
  t.querySelectorAll('th').forEach(function(th,i){
    th.addEventListener('click',function(){
      var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows);
      var asc=!th.classList.contains('asc');
      t.querySelectorAll('th').forEach(function(h){h.classList.remove('asc','desc');});
      th.classList.add(asc?'asc':'desc');
      rows.sort(function(a,b){
        var ca=a.cells[i],cb=b.cells[i],num=ca.classList.contains('num')&&cb.classList.contains('num');
        var x=ca.getAttribute('data-v'),y=cb.getAttribute('data-v');
        var r=cmp(num&&x!==''?parseFloat(x):x,num&&y!==''?parseFloat(y):y,num);
        return asc?r:-r;
      });
      rows.forEach(function(r){body.appendChild(r);});
    });
  });
});
"""

PAGE_ROWS = 50  # rows per page of a long table (every row is in the page, shown a page at a time)
STATIC_ROWS = 60  # tables up to this long are plain HTML rows


def esc(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _cell(col: str, value, dates: frozenset[str], pct=PCT) -> str:
    """One <td> with display text and a sort key (data-v); ``pct`` are the probability columns."""
    if isinstance(value, Marked):
        key = "" if value.sort is None else repr(float(value.sort))
        cls = "num" if value.sort is not None else "nodata"
        return f'<td class="{cls}" data-v="{key}">{esc(value.text)}</td>'
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '<td data-v=""></td>'
    if col in dates:
        d = as_date(value)
        text = d.isoformat() if d else str(value)
        return f'<td class="date" data-v="{esc(text)}">{esc(text)}</td>'
    if isinstance(value, bool):
        return f'<td data-v="{int(value)}">{"✓" if value else ""}</td>'
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        v = float(value)
        if col in pct:
            text = f"{v:.1%}"
        elif float(v).is_integer() and abs(v) < 1e15:
            text = f"{int(v)}"
        else:
            text = f"{v:.3g}" if abs(v) < 1 else f"{v:,.1f}"
        return f'<td class="num" data-v="{v!r}">{esc(text)}</td>'
    if isinstance(value, date):
        return f'<td class="date" data-v="{value.isoformat()}">{value.isoformat()}</td>'
    text = str(value)
    cls = ' class="long"' if len(text) > 8 else ""  # CJK text breaks anywhere: keep it readable
    return f'<td{cls} data-v="{esc(text)}">{esc(text)}</td>'


def _kind(col: str, series: pd.Series, dates: frozenset[str], pct=PCT) -> str:
    if col in dates:
        return "date"
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_numeric_dtype(series):
        return "pct" if col in pct else "num"
    return "text"


def _numeric(series: pd.Series) -> bool:
    """Whether a column shows numbers (numeric, or numbers mixed with "no data" marks): its header aligns right."""
    if pd.api.types.is_bool_dtype(series):
        return False
    if pd.api.types.is_numeric_dtype(series):
        return True
    vals = [v for v in series if v is not None and not (isinstance(v, float) and math.isnan(v))]
    def number(v) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    return (all(number(v) or isinstance(v, Marked) for v in vals)
            and any(number(v) or (isinstance(v, Marked) and v.sort is not None) for v in vals))


def _json_value(v, kind: str):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if kind == "date":
        d = as_date(v)
        return d.isoformat() if d else str(v)
    if kind == "bool":
        return bool(v)
    if kind in ("num", "pct"):
        f = float(v)
        if not math.isfinite(f):
            return None
        return int(f) if f.is_integer() and abs(f) < 1e15 else f
    return str(v)


def _json_script(obj) -> str:
    """JSON safe inside <script>: '<', '>' and '&' written as unicode escapes."""
    import json

    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def table_html(view: View, lang: Lang, *, limit: int | None = None) -> str:
    """A sortable table of every row of ``view`` (escaped).

    Short tables are plain rows; longer ones carry their rows as JSON and show a
    page at a time, with a filter box and sorting over all rows (numbers sort by
    value, dates by date). Nothing is cut. ``limit`` is accepted for old callers and ignored.
    """
    df = view.frame
    if df.empty:
        return f'<p class="note">{esc(tr("no_data", lang))}</p>'
    pct = PCT if view.pct is None else view.pct
    right = ' class="num"'
    head = "".join(f"<th{right if _numeric(df[c]) else ''}>{esc(header(c, lang))}</th>" for c in df.columns)
    if len(df) <= STATIC_ROWS:
        body = []
        for row in df.itertuples(index=False):
            cells = "".join(_cell(c, v.item() if hasattr(v, "item") else v, view.dates, pct)
                            for c, v in zip(df.columns, row))
            body.append(f"<tr>{cells}</tr>")
        return (f'<div class="scroll"><table class="sortable static"><thead><tr>{head}</tr></thead>'
                f'<tbody>{"".join(body)}</tbody></table></div>')
    kinds = [_kind(c, df[c], view.dates, pct) for c in df.columns]
    rows = [[_json_value(v.item() if hasattr(v, "item") else v, k) for v, k in zip(row, kinds)]
            for row in df.itertuples(index=False)]
    data = _json_script({"kinds": kinds, "rows": rows, "page": PAGE_ROWS})
    tools = (f'<div class="tools"><input type="search" placeholder="{esc(tr("filter", lang))}" '
             f'aria-label="{esc(tr("filter", lang))}"> <button class="prev" type="button">‹</button>'
             f'<span class="count">{len(df)}</span><button class="next" type="button">›</button></div>')
    return (f'<div class="tbl">{tools}<div class="scroll"><table class="sortable paged"><thead><tr>{head}</tr>'
            f'</thead><tbody></tbody></table></div><script type="application/json" class="tdata">{data}</script>'
            "</div>")


def figure_html(chart: Chart) -> str:
    data = base64.b64encode(chart.png).decode("ascii")
    return (f'<figure id="fig-{esc(chart.key)}"><img alt="{esc(chart.title)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{esc(chart.title)}</figcaption></figure>")


def _provenance(manifest: dict, lang: Lang = Lang.EN) -> str:
    keys = ("scenario", "replications", "seed", "as_of", "params", "params_hash", "package_version", "engine",
            "executor", "workers", "stopped_by_precision", "max_target_se", "created_utc", "python", "numpy")
    rows = [(k, manifest.get(k)) for k in keys if k in manifest]
    t = manifest.get("timings_seconds") or {}
    rows += [(f"timings_seconds.{k}", v) for k, v in t.items()]
    return ('<dl class="prov">' + "".join(f"<dt>{esc(run_key(k, lang))}</dt><dd>{esc(_prov_value(k, v, lang))}</dd>"
                                          for k, v in rows) + "</dl>")


_PROV_WORDS = {True: ("yes", "是"), False: ("no", "否"), "vector": ("vectorised", "向量化"),
               "simpy": ("SimPy (resource limits)", "SimPy（含资源约束）"), "inline": ("one process", "单进程"),
               "pool": ("process pool", "多进程"), "dask": ("Dask", "Dask")}


def _prov_value(key: str, value, lang: Lang) -> str:
    """A provenance value as a person reads it: yes/no, the engine in words, a standard error in %, seconds rounded."""
    zh = Lang(lang) is Lang.ZH
    if isinstance(value, bool) or (key in ("engine", "executor") and value in _PROV_WORDS):
        en, cn = _PROV_WORDS[value]
        return cn if zh else en
    if key == "max_target_se" and isinstance(value, (int, float)):
        return f"{100 * value:.2f}%"
    if key.startswith("timings_seconds.") and isinstance(value, (int, float)):
        return f"{value:.1f}"
    return str(value)


def render(
    *,
    lang: Lang,
    manifest: dict,
    headline: View,
    charts: list[Chart],
    tables: list[View],
    sources: list[View],
    plan=None,
    answer: str = "",
) -> str:
    """The whole report as one HTML string, with the CJK glyphs it uses embedded (:mod:`webfont`)."""
    sec = []
    if answer:  # the bottom line (sim.report.summary.headline_html), then the headline table
        sec.append(answer)
        sec.append(f'<section id="headline"><h2>{esc(tr("headline", lang))}</h2>{table_html(headline, lang)}</section>')
    else:
        sec.append(f'<section id="summary"><h2>{esc(tr("headline", lang))}</h2>{table_html(headline, lang)}</section>')
    sec.append(f'<section id="charts"><h2>{esc(tr("charts", lang))}</h2>{"".join(figure_html(c) for c in charts)}'
               "</section>")
    parts = [f'<h2>{esc(tr("tables", lang))}</h2><p class="note">{esc(tr("sortable_hint", lang))}</p>']
    for v in tables:
        parts.append(f'<h3 id="t-{esc(v.key)}">{esc(tr(v.key, lang))}</h3>{table_html(v, lang)}')
    sec.append(f'<section id="tables">{"".join(parts)}</section>')
    meth = [f'<h2>{esc(tr("method", lang))}</h2><p>{esc(tr("method_text", lang))}</p>']
    for v in sources:
        inner = table_html(v, lang)
        title = esc(tr(v.key, lang))
        meth.append(f"<details><summary>{title} ({len(v.frame)})</summary>{inner}</details>"
                    if len(v.frame) > 15 else f"<h3>{title}</h3>{inner}")
    sec.append(f'<section id="method">{"".join(meth)}</section>')
    sec.append(f'<section id="provenance"><h2>{esc(tr("provenance", lang))}</h2>{_provenance(manifest, lang)}</section>')
    nav = [(a, tr(k, lang)) for a, k in (("summary", "headline"), ("charts", "charts"), ("tables", "tables"),
                                          ("method", "method"), ("provenance", "provenance"))]
    from sim.model import planmeta
    first, last = planmeta.period(plan) if plan is not None else ("", "")
    title = tr("report_title", lang, title=planmeta.plan_title(plan, lang) if plan is not None else "")
    doc = planmeta.plan_document(plan, lang) if plan is not None else ""
    sub = f'{doc + " · " if doc else ""}{tr("report_subtitle", lang, first=first, last=last)} · {manifest.get("scenario", "")} · n = {manifest.get("replications", "")}'
    from sim.report.summary import BARS_CSS

    return page(title, "".join(sec), lang, subtitle=sub, nav=nav, css=BARS_CSS)


def page(title: str, body: str, lang: Lang | str, *, subtitle: str = "", nav=(), css: str = "",
         script: str = SORT_JS) -> str:
    """One self-contained HTML page in the report's look: every page the tool writes uses it.

    Parameters
    ----------
    title : str
        Page title (escaped here), shown in the blue header band.
    body : str
        HTML of the page's sections (the caller's own markup, already escaped).
    lang : {"zh", "en"}
        Sets ``<html lang>``.
    subtitle : str
        One line under the title (escaped here).
    nav : sequence of (anchor, label)
        Links to the page's sections.
    css : str
        Extra CSS after the shared :data:`CSS`.
    script : str
        JavaScript run at the end of the page (default: sortable tables).

    The CJK glyphs the page uses are embedded as a subset web font
    (:func:`sim.report.webfont.font_face_css`), so Chinese shows without a
    system font; a page without CJK text embeds nothing.
    """
    zh = str(lang) == "zh"
    links = "".join(f'<a href="#{esc(a)}">{esc(label)}</a>' for a, label in nav)
    html_ = (
        f'<!DOCTYPE html><html lang="{"zh-CN" if zh else "en"}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{esc(title)}</title>'
        f"<style>{CSS}{css}</style></head><body>"
        f'<header class="top"><h1>{esc(title)}</h1>{f"<p>{esc(subtitle)}</p>" if subtitle else ""}</header>'
        f'<main>{f"<nav>{links}</nav>" if links else ""}{body}</main>'
        f'{f"<script>{script}</script>" if script else ""}</body></html>'
    )
    return html_.replace("<style>", f"<style>{font_face_css(html_)}", 1)


def headline_view(targets: pd.DataFrame, lang: Lang) -> View:
    """The headline targets (or, if none are marked, every target): P(met) ± s.e."""
    from sim.report.tables import named, not_achieved

    sel = targets[targets["section"] == "headline"]
    sel = sel if not sel.empty else targets
    cols = ["id", "name", "deadline", "p_met", "se", "ci95_low", "ci95_high", "p80_achieved"]
    return View("headline", not_achieved(named(sel, lang)[cols], lang), frozenset({"deadline", "p80_achieved"}))
