"""Fuzz suite (issue 10): malformed and extreme params CSVs, scenario YAML, actuals CSVs and CLI arguments.

Every case runs the real command line (:func:`sim.cli.main`, in-process; a sample
also as a subprocess) on the small test plan inside its own sandbox, and must

* exit 0 or 2 (argparse's usage errors are exit 2 too), with no exception
  escaping ``main`` and no ``Traceback`` printed;
* finish in under 10 s;
* on failure, leave no complete-looking run directory (no ``--out``, no
  ``.partial``, no lock file);
* touch nothing outside ``--out`` (the sandbox is compared before and after).

Hypothesis runs with a fixed, derandomized profile (the same cases on every CI
run); the corpus below adds the issue's own reproductions. Case counts per
group are in :data:`EXAMPLES`; their sum, with the corpus, is at least 300.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main

FIXTURE = Path(__file__).parent / "fixtures" / "mini_params"
ROOT = Path(__file__).parents[1]
CASE_SECONDS = 10.0
EXAMPLES = {"params": 200, "scenario": 160, "actuals": 120, "cli": 80, "commands": 70}  # + the corpus

settings.register_profile("fuzz", derandomize=True, deadline=None, database=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                 HealthCheck.filter_too_much])
FUZZ = settings.get_profile("fuzz")

ITEM_IDS = ["B01.2020", "B01.2022", "T01", "T05.1", "T05.2", "T08", "T13", "E01", "K01", "X_HSR"]
OTHER_IDS = ["KPI_HITECH", "KPI_PLATFORMS", "R_LAND", "S_COVID", "TT05", "HBLOCKS", "HHITECH"]
NASTY = ["", " ", "-1", "0", "-0.5", "1e308", "-1e308", "nan", "inf", "-inf", "1e9", "9999-12-31",
         "0001-01-01", "2020-02-30", "2022-13-01", '"', '"unterminated', "\x00", "=HYPERLINK(\"x\",\"y\")",
         "..", "../..", "T05.1", "T99", "fixed", "pert", "a;b;;", "；", "中文", "x" * 300, "1,2", "\n", "2m", "-3m",
         "true", "FS", "SYNC", "type:block", "*", "%s%s", "{}", "[]"]
VALUES = st.one_of(st.sampled_from(NASTY), st.text(max_size=12),
                   st.integers(-10**12, 10**12).map(str),
                   st.floats(allow_nan=True, allow_infinity=True).map(repr))


# --- the harness ---------------------------------------------------------------------------------

def _snapshot(root: Path, skip: Path | None) -> dict[str, tuple]:
    out = {}
    for p in sorted(root.rglob("*")):
        if skip is not None and (p == skip or skip in p.parents):
            continue
        st_ = p.lstat()
        out[str(p.relative_to(root))] = (p.is_dir(), st_.st_size, st_.st_mtime_ns if p.is_file() else 0)
    return out


def _call(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse
            code = exc.code if isinstance(exc.code, int) else 2
    return code, out.getvalue(), err.getvalue()


TALLY: dict[str, int] = {}  # exit codes seen (printed by the last test, for the record)


def check_case(sandbox: Path, argv: list[str], *, out: Path | None) -> int:
    """Run one case and assert the suite's rules; returns the exit code."""
    before = _snapshot(sandbox, out)
    out_before = _snapshot(out, None) if out is not None and out.is_dir() else None
    t0 = time.perf_counter()
    code, stdout, stderr = _call(argv)
    seconds = time.perf_counter() - t0
    shown = f"argv={argv}\nexit={code}\nstderr={stderr[-2000:]}"
    TALLY[f"{argv[0]}:{code}"] = TALLY.get(f"{argv[0]}:{code}", 0) + 1
    assert code in (0, 2), shown
    assert "Traceback" not in stderr and "Traceback" not in stdout, shown
    assert seconds < CASE_SECONDS, f"{seconds:.1f} s\n{shown}"
    if code == 2:
        assert stderr.strip(), shown  # a message says why
    if out is not None:
        leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(out.name + ".")] \
            if out.parent.is_dir() else []
        assert not leftovers, f"{leftovers}\n{shown}"
        if code != 0:
            now = _snapshot(out, None) if out.is_dir() else None
            assert now == out_before, f"--out changed by a failed command\n{shown}"
    after = _snapshot(sandbox, out)
    if code == 0 and out is not None:  # a new --out may create its missing parent folders, nothing else
        parents = {str(p.relative_to(sandbox)) for p in out.parents if sandbox in p.parents}
        after = {k: v for k, v in after.items() if k not in parents or k in before}
    assert after == before, f"files outside --out changed\n{shown}"
    return code


@contextlib.contextmanager
def sandbox():
    root = Path(tempfile.mkdtemp(prefix="simfuzz-"))
    try:
        shutil.copytree(FIXTURE, root / "params")
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


RUN = ["--runs", "20", "--workers", "1", "--quiet", "--no-report"]


# --- params CSVs --------------------------------------------------------------------------------

PARAM_FILES = sorted(p.name for p in FIXTURE.glob("*.csv"))


@st.composite
def csv_mutations(draw):
    name = draw(st.sampled_from(PARAM_FILES))
    lines = (FIXTURE / name).read_text(encoding="utf-8").splitlines()
    kind = draw(st.sampled_from(["cell", "cell", "cell", "drop", "dup", "truncate", "quote", "nul", "header"]))
    if kind in ("cell", "header"):
        row = 0 if kind == "header" else draw(st.integers(1, max(1, len(lines) - 1)))
        row = min(row, len(lines) - 1)
        cells = lines[row].split(",")
        col = draw(st.integers(0, len(cells) - 1))
        value = draw(VALUES)
        cells[col] = f'"{value}"' if draw(st.booleans()) and '"' not in value else value
        lines[row] = ",".join(cells)
        text = "\n".join(lines) + "\n"
    elif kind == "drop":
        del lines[draw(st.integers(0, len(lines) - 1))]
        text = "\n".join(lines) + "\n"
    elif kind == "dup":
        k = draw(st.integers(0, len(lines) - 1))
        lines.insert(k, lines[k])
        text = "\n".join(lines) + "\n"
    else:
        text = "\n".join(lines) + "\n"
        at = draw(st.integers(0, len(text)))
        text = text[:at] if kind == "truncate" else text[:at] + ('"' if kind == "quote" else "\x00") + text[at:]
    return name, text


@settings(FUZZ, max_examples=EXAMPLES["params"])
@given(csv_mutations())
def test_fuzz_params_csv(mutation):
    name, text = mutation
    with sandbox() as root:
        (root / "params" / name).write_text(text, encoding="utf-8", errors="surrogatepass")
        code = check_case(root, ["validate", "--params", root / "params"], out=None)
        if code == 0:  # accepted: it must also simulate
            out = root / "run"
            check_case(root, ["run", "--params", root / "params", *RUN, "--out", out], out=out)


# --- scenario YAML ------------------------------------------------------------------------------

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.sampled_from(NASTY), st.dates().map(lambda d: d),
                    st.sampled_from(["3m", "-2m", "90", "12m", "1e9", "pert", "FS", "all_of"]))
TREES = st.recursive(SCALARS, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.dictionaries(st.sampled_from(
        ITEM_IDS + OTHER_IDS + ["dist", "p1", "p2", "p3", "multiplier", "duration_days", "plan_finish",
                                "probability", "length", "select", "links", "items", "pred", "succ", "type",
                                "lag_days", "threshold", "deadline", "rule", "refs"]), kids, max_size=4)),
    max_leaves=12)
TOP_KEYS = ["description", "extends", "as_of", "assumptions", "remove", "add", "duration_classes", "units",
            "calendars", "items", "factors", "correlations", "risks", "shocks", "kpis", "targets", "adjust",
            "slip", "bogus"]


DURATIONS = st.one_of(st.sampled_from(["3m", "1m", "12m", "0", "90", "-2m", "1e9", "x", "36m"]),
                      st.integers(-100, 5000), st.floats(allow_nan=True))
DISTS = st.fixed_dictionaries({"dist": st.sampled_from(["fixed", "pert", "triangular", "lognormal", "uniform", "x"]),
                               "p1": st.one_of(st.floats(-10, 10), st.sampled_from(NASTY)),
                               "p2": st.floats(-10, 1000), "p3": st.floats(-10, 1e6)})


@st.composite
def structured_scenarios(draw):
    """Scenarios built from the documented keys, with ids of the plan: most of them are valid."""
    data = {"description": draw(st.sampled_from(["fuzzed", "", "中文", "=1+1"]))}
    for key in draw(st.lists(st.sampled_from(["slip", "items", "shocks", "adjust", "as_of", "kpis"]),
                             min_size=1, max_size=3, unique=True)):
        if key == "slip":
            data["slip"] = draw(st.dictionaries(st.sampled_from(ITEM_IDS + ["T99"]), DURATIONS, min_size=1,
                                                max_size=3))
        elif key == "items":
            data["items"] = {draw(st.sampled_from(ITEM_IDS)): {"multiplier": draw(DISTS)}}
        elif key == "shocks":
            data["shocks"] = {"S_COVID": {"probability": draw(st.floats(-1, 2)), "length": draw(DISTS)}}
        elif key == "adjust":
            data["adjust"] = [{"select": draw(st.sampled_from(["type:block", "campaign:transport", "*", "T05.1"])),
                               "multiplier_scale": draw(st.floats(-1, 10))}]
        elif key == "as_of":
            data["as_of"] = draw(st.dates())
        else:
            data["kpis"] = {"KPI_HITECH": {"rate_per_year": draw(st.floats(-1e3, 1e12))}}
    return yaml.safe_dump(data, allow_unicode=True)


@st.composite
def scenario_texts(draw):
    if draw(st.booleans()):
        return draw(structured_scenarios())
    if draw(st.integers(0, 9)) == 0:  # raw text: broken YAML
        return draw(st.sampled_from([":\n  - [", "a: &x [*x]", "slip: {T05.1: 1m}\nslip: {T05.1: 6m}\n",
                                     "[" * 200, "\t- x", "a: !!python/object:os.system x", "%YAML 9.9\n---\n"]))
    data = draw(st.dictionaries(st.sampled_from(TOP_KEYS), TREES, min_size=1, max_size=3))
    try:
        return yaml.safe_dump(data, allow_unicode=True)
    except yaml.YAMLError:
        return "description: x\n"


@settings(FUZZ, max_examples=EXAMPLES["scenario"])
@given(scenario_texts())
def test_fuzz_scenario_yaml(text):
    with sandbox() as root:
        scen = root / "fuzzed.yaml"
        scen.write_text(text, encoding="utf-8", errors="surrogatepass")
        out = root / "run"
        check_case(root, ["run", scen, "--params", root / "params", *RUN, "--out", out], out=out)


# --- actuals CSVs -------------------------------------------------------------------------------

DATES = st.one_of(st.dates(min_value=__import__("datetime").date(2019, 1, 1),
                           max_value=__import__("datetime").date(2031, 12, 31)).map(str), st.sampled_from(NASTY))
FACT_ROWS = st.tuples(st.sampled_from(["finish", "start", "progress", "kpi", "bogus", ""]),
                      st.sampled_from(ITEM_IDS + OTHER_IDS + ["", "T99", "..", "=1+1"]), DATES,
                      st.one_of(st.just(""), DATES), st.one_of(st.just(""), VALUES),
                      st.sampled_from(["report", "", "=cmd", "中文"]), st.just(""))


@st.composite
def actuals_texts(draw):
    rows = draw(st.lists(FACT_ROWS, min_size=0, max_size=6))
    good = "kind,id,date,reported,value,source,note"
    header = draw(st.sampled_from([good, good, good, good, "kind,id,date", "", "id,kind"]))
    text = header + "\n" + "".join(",".join(r) + "\n" for r in rows)
    if draw(st.integers(0, 7)) == 0:
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(['"', "\x00", "\r", "\ufeff"])) + text[at:]
    return text


@settings(FUZZ, max_examples=EXAMPLES["actuals"])
@given(actuals_texts(), st.one_of(st.none(), DATES))
def test_fuzz_actuals_csv(text, as_of):
    with sandbox() as root:
        acts = root / "actuals.csv"
        acts.write_text(text, encoding="utf-8", errors="surrogatepass")
        out = root / "run"
        extra = [] if as_of is None else ["--as-of", as_of]
        check_case(root, ["run", "--params", root / "params", "--actuals", acts, *extra, *RUN, "--out", out],
                   out=out)


# --- CLI arguments ------------------------------------------------------------------------------

OPTION_VALUES = {
    "--runs": ["0", "-5", "1", "20", "1e3", "x", str(10**12), "99999999999999999999"],
    "--seed": ["-1", "0", "1", str(2**64), "x", "1.5"],
    "--workers": ["0", "-1", "1", "1000", "x"],
    "--precision": ["0", "-1", "nan", "inf", "0.5", "0.01", "x"],
    "--as-of": ["9999-12-31", "2019-01-01", "2021-12-31", "2099-12-31", "x", "2020-02-30"],
    "--engine": ["simpy", "vector", "bogus"],
    "--lhs": [None],
    "--params": ["{root}/missing", "{root}/params/items.csv", "{root}", "/dev/null"],
}


@st.composite
def cli_cases(draw):
    opts = draw(st.lists(st.sampled_from(sorted(OPTION_VALUES)), min_size=1, max_size=3, unique=True))
    args = []
    for o in opts:
        v = draw(st.sampled_from(OPTION_VALUES[o]))
        args += [o] if v is None else [o, v]
    target = draw(st.sampled_from(["new", "new", "existing_file", "dotdot", "user_dir", "results", "nested"]))
    return args, target


@settings(FUZZ, max_examples=EXAMPLES["cli"])
@given(cli_cases())
def test_fuzz_cli_arguments(case):
    args, target = case
    with sandbox() as root:
        (root / "keep.txt").write_text("mine")
        (root / "user").mkdir()
        (root / "user" / "notes.txt").write_text("mine")
        (root / "results" / "old").mkdir(parents=True)
        out = {"new": root / "run", "existing_file": root / "keep.txt", "dotdot": root / "user" / "..",
               "user_dir": root / "user", "results": root / "results", "nested": root / "a" / "b" / "run"}[target]
        argv = ["run", "--params", root / "params", "--runs", "20", "--workers", "1", "--quiet", "--no-report",
                *[a.replace("{root}", str(root)) for a in args], "--out", out]
        watched = out if target in ("new", "nested") else None  # anything else must not change at all
        check_case(root, argv, out=watched)


# --- other commands: slip, tolerance, appraise, report, calendar --------------------------------

@st.composite
def command_cases(draw):
    cmd = draw(st.sampled_from(["slip", "tolerance", "appraise", "report", "calendar"]))
    v = lambda: draw(st.one_of(st.sampled_from(NASTY), st.sampled_from(["3m", "90", "0.8", "2021", "T05.1", "TT05"])))
    if cmd == "slip":
        return [cmd, draw(st.sampled_from(ITEM_IDS + ["T99", ""])), "--by", v(), "--runs", "20"]
    if cmd == "tolerance":
        return [cmd, draw(st.sampled_from(ITEM_IDS)), "--target", draw(st.sampled_from(OTHER_IDS + ["x"])),
                "--confidence", v(), "--max", draw(st.sampled_from(["1m", "3m", "0", "-1", "x"])), "--runs", "20",
                "--resolution", draw(st.sampled_from(["1", "30", "0", "-5", "nan"]))]
    if cmd == "appraise":
        return [cmd, "--years", *draw(st.lists(st.sampled_from(["2019", "2020", "2021", "2022", "2025", "3000",
                                                                 "-1", "x"]), min_size=1, max_size=3)),
                "--actuals", "{acts}", "--runs", "20"]
    if cmd == "report":
        return [cmd, "{broken}", "--driver-runs", draw(st.sampled_from(["0", "-1", "10", "x"])),
                "--lang", "en", "#", draw(st.sampled_from(["manifest", "records", "empty", "none", "pickle"]))]
    return [cmd, "--first", v(), "--last", v()]


def _broken_run_dir(root: Path, how: str) -> Path:
    d = root / "broken"
    if how == "none":
        return d
    d.mkdir()
    if how == "manifest":
        (d / "manifest.json").write_text('{"as_of": "x", "replications": "many"', encoding="utf-8")
    elif how == "records":
        (d / "manifest.json").write_text('{"replications": 10}', encoding="utf-8")
        (d / "records.parquet").write_bytes(b"PAR1" + b"\0" * 64 + b"PAR1")
    elif how == "pickle":
        (d / "manifest.json").write_text('{"replications": 10}', encoding="utf-8")
        (d / "plan.pickle").write_bytes(b"cos\nsystem\n(S'touch pwned'\ntR.")
    return d


@settings(FUZZ, max_examples=EXAMPLES["commands"])
@given(command_cases())
def test_fuzz_other_commands(case):
    with sandbox() as root:
        acts = root / "a.csv"
        acts.write_text("kind,id,date,reported,value,source,note\nfinish,T01,2020-11-30,,,news,\n", encoding="utf-8")
        if "#" in case:
            at = case.index("#")
            case, how = case[:at], case[at + 1]
            broken = _broken_run_dir(root, how)
        else:
            broken = root / "broken"
        argv = [a.replace("{acts}", str(acts)).replace("{broken}", str(broken)) for a in case]
        out = root / "out"
        if argv[0] in ("slip", "tolerance", "appraise"):
            argv += ["--params", str(root / "params"), "--workers", "1", "--quiet", "--out", str(out)]
        code = check_case(root, argv, out=out if argv[0] != "report" else None)
        if argv[0] == "report":
            assert code == 2 and not (root / "pwned").exists()


# --- the corpus: the reproductions --------------------------------------------------------

LAUGHS = ('a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
          + "".join(f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi")))

CORPUS = [
    ("run", ["--seed", "-1"]), ("run", ["--precision", "0"]), ("run", ["--precision", "nan"]),
    ("run", ["--precision", "-1"]), ("run", ["--runs", str(10**12)]), ("run", ["--as-of", "9999-12-31"]),
    ("run", ["--workers", "1000"]), ("scenario", LAUGHS), ("scenario", "slip:\n  T05.1: 6m\nslip:\n  T05.1: 1m\n"),
    ("scenario", "items: " + "{a: " * 300 + "1" + "}" * 300 + "\n"), ("scenario", "shocks:\n  S_COVID:\n    length: {dist: fixed, p1: -90}\n"),
    ("scenario", "items:\n  T05.1:\n    multiplier: {dist: fixed, p1: -1}\n"),
    ("scenario", "items:\n  T05.1:\n    plan_finish: 9999-12-31\n"),
    ("scenario", "kpis:\n  KPI_HITECH:\n    rate_per_year: 1e308\n"),
    ("params", ("items.csv", "T05.2", "fixed,-1")), ("params", ("links.csv", "whole line", '"whole line')),
    ("params", ("shocks.csv", "triangular,30,45,70", "triangular,-30,-20,-10")),
    ("params", ("assumptions.csv", "horizon_years,15", "horizon_years,1e12")),
    ("params", ("kpis.csv", "600,150,", "600,1e308,")), ("params", ("links.csv", "whole line", "whole\x00line")),
    ("actuals", "kind,id,date,reported,value,source,note\nkpi,KPI_HITECH,2020-12-31,,-5,x,\n"),
    ("actuals", "kind,id,date,reported,value,source,note\nfinish,T05.1,9999-12-31,,,x,\n"),
    ("actuals", 'kind,id,date,reported,value,source,note\nfinish,T05.1,"2020-12-31,,,x,\nstart,T08,2020-01-20,,,x,\n'),
    ("appraise", ["--years", "2025"]), ("appraise", ["--years", "3000"]), ("appraise", ["--years", "2019"]),
]


def _corpus_argv(root: Path, kind: str, spec, out: Path) -> list:
    params = root / "params"
    if kind == "run":
        return ["run", "--params", params, "--runs", "20", "--workers", "1", "--quiet", "--no-report", *spec,
                "--out", out]
    if kind == "scenario":
        (root / "s.yaml").write_text(spec, encoding="utf-8")
        return ["run", root / "s.yaml", "--params", params, *RUN, "--out", out]
    if kind == "params":
        name, old, new = spec
        path = params / name
        text = path.read_text(encoding="utf-8")
        text = text.replace(old, new, 1) if old in text else text
        if name == "items.csv" and new == "fixed,-1":  # the multiplier of one item
            lines = text.splitlines()
            lines = [ln if not ln.startswith("T05.2,") else ",".join(ln.split(",")[:17] + ["fixed", "-1", "", ""]
                                                                  + ln.split(",")[21:]) for ln in lines]
            text = "\n".join(lines) + "\n"
        path.write_text(text, encoding="utf-8")
        return ["run", "--params", params, *RUN, "--out", out]
    if kind == "actuals":
        (root / "a.csv").write_text(spec, encoding="utf-8")
        return ["run", "--params", params, "--actuals", root / "a.csv", *RUN, "--out", out]
    (root / "a.csv").write_text("kind,id,date,reported,value,source,note\nfinish,T01,2020-11-30,,,news,\n",
                                encoding="utf-8")
    return ["appraise", "--params", params, "--actuals", root / "a.csv", "--runs", "20", "--workers", "1",
            "--quiet", *spec, "--out", out]


@pytest.mark.parametrize("kind,spec", CORPUS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(CORPUS)])
def test_fuzz_corpus(kind, spec):
    with sandbox() as root:
        out = root / "out"
        argv = _corpus_argv(root, kind, spec, out)
        code = check_case(root, argv, out=out)
        refused = {"run": spec != ["--workers", "1000"], "scenario": True, "params": True,
                   "actuals": True, "appraise": True}[kind]
        assert (code == 2) == refused, f"{kind} {spec!r}: exit {code}"


SUBPROCESS_SAMPLE = [0, 5, 7, 10, 15, 20, 23]


@pytest.mark.parametrize("index", SUBPROCESS_SAMPLE)
def test_fuzz_corpus_as_a_subprocess(index):
    """A sample of the corpus through a real process: exit 2, one message, no traceback, < 10 s."""
    kind, spec = CORPUS[index]
    with sandbox() as root:
        out = root / "out"
        argv = [str(a) for a in _corpus_argv(root, kind, spec, out)]
        before = _snapshot(root, out)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "sim", *argv], capture_output=True, text=True, timeout=60,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, stdin=subprocess.DEVNULL)
        assert time.perf_counter() - t0 < CASE_SECONDS + 5  # a process start on top of the case itself
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and proc.stderr.strip()
        assert not out.exists() and _snapshot(root, out) == before


def test_fuzz_case_count_is_at_least_300():
    assert sum(EXAMPLES.values()) + len(CORPUS) >= 300
    print(f"fuzz cases by command and exit code: {dict(sorted(TALLY.items()))}")
