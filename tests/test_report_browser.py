"""The HTML report in a real browser (headless Chromium): every chart loads, nothing overflows.

``python3 dev.py test`` installs Debian's chromium when it runs as root on a
machine with apt-get; elsewhere install it by hand (``apt-get install chromium``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_report_support import reported_run

CHECK_JS = """
<script>
window.addEventListener('load', function () {
  function run() {
    var vw = document.documentElement.clientWidth;
    var imgs = Array.prototype.slice.call(document.images);
    var broken = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); })
                     .map(function (i) { return i.alt || i.src.slice(0, 40); });
    var overflow = [];
    document.querySelectorAll('body *').forEach(function (el) {
      for (var a = el.parentElement; a && a !== document.body; a = a.parentElement) {
        if (getComputedStyle(a).overflowX !== 'visible') { return; }  // inside a scroll box
      }
      var r = el.getBoundingClientRect();
      if (r.width > 0 && (r.right > vw + 1 || r.left < -1)) {
        overflow.push(el.tagName + (el.id ? '#' + el.id : '') + ' ' + Math.round(r.left) + '..' + Math.round(r.right));
      }
    });
    var summary = document.getElementById('summary'), first = null;
    if (summary) {
      var sr = summary.getBoundingClientRect();
      var h2 = summary.querySelector('h2').getBoundingClientRect();
      first = {top: Math.round(sr.top), heading_bottom: Math.round(h2.bottom),
               first_figure_bottom: Math.round((summary.querySelector('ul.kpis') || summary).getBoundingClientRect().bottom),
               height: window.innerHeight};
    }
    var clipped = [];  // a target id cut by its label box (issue 13: ids keep same-named targets apart)
    document.querySelectorAll('div.hbar .lab').forEach(function (lab) {
      var id = lab.querySelector('.tid'); if (!id) { return; }
      var a = lab.getBoundingClientRect(), b = id.getBoundingClientRect();
      if (b.left < a.left - 1 || b.right > a.right + 1) { clipped.push(id.textContent); }
    });
    var paged = Array.prototype.slice.call(document.querySelectorAll('table.paged')).map(function (t) {
      return t.tBodies[0].rows.length; });
    var out = document.createElement('pre');
    out.id = 'browser-check';
    out.textContent = JSON.stringify({
      images: imgs.length, broken: broken, overflow: overflow.slice(0, 20), viewport: vw,
      scrollWidth: document.documentElement.scrollWidth, summary: first, paged: paged, clipped: clipped,
      fonts: document.fonts.status
    });
    document.body.appendChild(out);
  }
  document.fonts.ready.then(run);
});
</script>
"""


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def browser_check(html: Path, tmp_path: Path, *, width: int) -> dict:
    """Open ``html`` at ``width`` px in headless Chromium and return what the check script found."""
    exe = chromium()
    if exe is None:
        pytest.skip("chromium is not installed (python3 dev.py test installs Debian's chromium as root; "
                    "or: apt-get install chromium)")
    page = tmp_path / f"check-{width}.html"
    page.write_text(html.read_text(encoding="utf-8").replace("</body>", CHECK_JS + "</body>"), encoding="utf-8")
    height = 844 if width < 500 else 900  # a phone screen (390 x 844) or a desktop window
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is not None:
        # a real viewport of exactly ``width`` px: a headless window cannot be narrower than 500 px
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=exe, args=["--headless", "--no-sandbox", "--disable-gpu",
                                                                   "--disable-background-networking"])
            try:
                tab = browser.new_page(viewport={"width": width, "height": height})
                tab.goto(page.as_uri())
                tab.wait_for_selector("#browser-check", state="attached", timeout=120_000)
                return json.loads(tab.text_content("#browser-check"))
            finally:
                browser.close()
    if width < 500:
        pytest.skip("a viewport below 500 px needs Playwright (headless Chromium windows are at least 500 px)")
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / f'profile-{width}'}", f"--window-size={width},{height}",
           "--virtual-time-budget=15000", "--dump-dom", page.as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    found = re.search(r'<pre id="browser-check">(.*?)</pre>', done.stdout, re.S)
    assert found, f"no result from chromium (exit {done.returncode}): {done.stderr[-2000:]}"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<")
                      .replace("&gt;", ">"))


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("width", [1280, 820, 390])
def test_report_renders_in_headless_chromium(tmp_path, lang, width):
    run = reported_run()
    html = run / f"report.{lang}.html"
    result = browser_check(html, tmp_path, width=width)
    charts = len(list((run / "charts" / lang).glob("*.png")))
    assert result["images"] == charts > 0
    assert result["broken"] == [], f"charts that did not load: {result['broken']}"
    assert result["overflow"] == [], f"elements wider than the {width}px page: {result['overflow']}"
    assert width - 20 <= result["viewport"] <= width  # the page really is this wide (less a scroll bar)
    assert result["scrollWidth"] <= result["viewport"]
    assert result["clipped"] == [], f"target ids cut in the headline bars: {result['clipped']}"
    assert result["fonts"] == "loaded"
    # the answer comes first: its heading and the expected-number figures are on the first screen
    summary = result["summary"]
    assert summary is not None, "no #summary section"
    assert summary["first_figure_bottom"] <= summary["height"], summary
    assert all(n > 0 for n in result["paged"])  # long tables show their first page


@pytest.mark.slow
@pytest.mark.parametrize("width", [1280, 390])
def test_headline_bars_never_cut_a_long_target_id(tmp_path, width):
    """Same-named targets (one per year) are told apart by their ids: at every width the id shows whole."""
    import pandas as pd

    from sim.report.html import page
    from sim.report.summary import BARS_CSS, bars_html

    ids = [f"TG_HL_CHOKEPOINT_PROJECTS_{y}" for y in (2020, 2021, 2022)]
    targets = pd.DataFrame({"id": ids, "name_zh": ["“卡脖子”核心技术攻关项目"] * 3,
                            "name_en": ["Choke-point core technology projects (cumulative): at least 30"] * 3,
                            "p_met": [0.31, 0.32, 0.0], "band": ["red"] * 3})
    html = tmp_path / "bars.html"
    html.write_text(page("bars", f'<section id="summary"><h2>x</h2>{bars_html(targets, "en")}</section>', "en",
                         css=BARS_CSS), encoding="utf-8")
    result = browser_check(html, tmp_path, width=width)
    assert result["clipped"] == [], f"target ids cut at {width}px: {result['clipped']}"
    assert result["overflow"] == []
