"""The what-if page in a real headless Chromium (Playwright driving the system chromium; no browser download).

The server is `sim serve` itself, started on a free port of 127.0.0.1. A six-month slip of
T14 must lower TG_T14 and TG_T15, leave every target with no dependency path from T14
exactly unchanged, and fit the page at 1280 and 390 px without horizontal overflow.
``python3 dev.py test`` installs Debian's chromium when it runs as root.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request

import pytest
from test_report_browser import chromium
from conftest import ROOT

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
RUNS = 2000

OVERFLOW_JS = """() => {
  const vw = document.documentElement.clientWidth, out = [];
  document.querySelectorAll('body *').forEach(el => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible') { return; }  // inside a scroll box
    }
    const r = el.getBoundingClientRect();
    if (r.width > 0 && (r.right > vw + 1 || r.left < -1)) { out.push(el.tagName + '#' + el.id + '.' + el.className); }
  });
  return {overflow: out.slice(0, 20), scrollWidth: document.documentElement.scrollWidth, viewport: vw};
}"""

ROWS_JS = """() => Array.from(document.querySelectorAll('#targets tbody tr[data-id]')).map(tr => ({
  id: tr.dataset.id, diff: Number(tr.dataset.diff), onpath: tr.dataset.onpath === '1'}))"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    exe = chromium()
    if exe is None:
        pytest.skip("chromium is not installed (python3 dev.py test installs Debian's chromium as root; "
                    "or: apt-get install chromium)")
    from sim.serve.app import free_port

    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-c", "import sys; from sim.cli import main; sys.exit(main())", "serve",
           "--port", str(port), "--runs", str(RUNS)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(url + "api/meta", timeout=5).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"sim serve did not start: {log.read_text(errors='replace')[-2000:]}")
                time.sleep(0.3)
        yield exe, url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    exe, _ = server
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=FLAGS)
        yield b
        b.close()


def _page(browser, url, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(url)
    page.wait_for_selector("#status[data-state=ready]", timeout=60_000)
    return page


def _slip(page, item, amount, unit="months"):
    page.fill("#slips .slip .item", item)
    page.fill("#slips .slip .amount", str(amount))
    page.select_option("#slips .slip .unit", unit)
    page.click("#run")
    page.wait_for_function("() => ['done', 'error'].includes(document.querySelector('#status').dataset.state)"
                           " && !document.querySelector('#status').textContent.includes('…')", timeout=60_000)


@pytest.mark.slow
def test_six_month_slip_of_t14_in_the_browser(server, browser):
    _, url = server
    page = _page(browser, url, 1280)
    _slip(page, "T14", 6)
    assert page.get_attribute("#status", "data-state") == "done"
    assert page.is_hidden("#error")
    page.check("input[name=show][value=all]")
    rows = {r["id"]: r for r in page.evaluate(ROWS_JS)}
    assert len(rows) > 100
    assert rows["TG_T14"]["diff"] < 0 and rows["TG_T15"]["diff"] < 0
    off_path = [r for r in rows.values() if not r["onpath"]]
    assert off_path and all(r["diff"] == 0 for r in off_path), [r for r in off_path if r["diff"] != 0]
    moved = page.eval_on_selector_all("#moves tbody tr[data-id]", "rs => rs.map(r => r.dataset.id)")
    assert moved[:2] == ["T14", "T15"]
    assert "T14 -FF-> T15" in page.inner_text("#moves")
    end = page.inner_text("#cards")
    assert "−" in end  # the end-2022 expected count drops
    page.close()


@pytest.mark.slow
@pytest.mark.parametrize(("item", "amount", "zh", "en"), [("T99", 6, "未知事项 'T99'", "unknown item 'T99'"),
                                                          ("T14", -6, "不能为负数", "cannot be negative")])
def test_bad_input_is_a_message_in_the_page(server, browser, item, amount, zh, en):
    _, url = server
    page = _page(browser, url, 1280)
    for words in (zh, en):
        _slip(page, item, amount)
        assert page.get_attribute("#status", "data-state") == "error"
        assert page.is_visible("#error") and words in page.inner_text("#error")
        page.click("#lang")
    page.close()


@pytest.mark.slow
@pytest.mark.parametrize("width", [1280, 390])
def test_no_horizontal_overflow_in_either_language(server, browser, width):
    _, url = server
    page = _page(browser, url, width)
    _slip(page, "T14", 6)
    page.check("input[name=show][value=all]")
    page.click("#switches summary")
    for lang in ("first", "second"):
        found = page.evaluate(OVERFLOW_JS)
        assert found["overflow"] == [], f"{lang} language at {width}px: {found['overflow']}"
        assert found["scrollWidth"] <= found["viewport"]
        title = page.inner_text("header.top h1")
        # every word follows the toggle: the status line, units and the base label (issue 13)
        lang_now = page.evaluate("document.documentElement.lang")
        words = page.inner_text("#status") + " " + page.inner_text("#cards") + " " + page.inner_text("#base-info")
        if lang_now == "zh":
            assert "完成" in words and " pp" not in words and "(mean)" not in words and "as it is" not in words, words
        else:
            assert "done" in words and not re.search("[\u4e00-\u9fff]", words), words
        page.click("#lang")
        assert page.inner_text("header.top h1") != title  # the toggle switches zh <-> en
    page.close()
