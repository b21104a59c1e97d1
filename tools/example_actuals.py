"""Write actuals/example-appraisal.csv: invented, plausible facts for the appraisal demo (seeded, every source EXAMPLE).

Usage: python tools/example_actuals.py params actuals/example-appraisal.csv
"""
import csv
import sys
from datetime import date, timedelta

import numpy as np
import pandas as pd

params = sys.argv[1]; out = sys.argv[2]
rng = np.random.default_rng(20260)
items = pd.read_csv(f"{params}/items.csv")
kpis = pd.read_csv(f"{params}/kpis.csv")
SKIP = {"T10", "T14"}  # public outcomes exist (actuals/example.csv): keep the invented file clear of them
SRC = "EXAMPLE (invented for the appraisal demo, not a real report): {what}"
rows = []
def d(s): return date.fromisoformat(s)
def fact(kind, iid, when, reported, value="", what="", note=""):
    rows.append({"kind": kind, "id": iid, "date": when.isoformat(), "reported": reported.isoformat(),
                 "value": value, "source": SRC.format(what=what), "note": note})
# units that report well and units that rarely report
lead = lambda u: [x.lstrip("*") for x in str(u).split(";") if x.startswith("*")] or [str(u).split(";")[0]]
silent_units = {"LOCAL_GOV_MGT", "OJK", "SCT"}
for r in items.itertuples():
    if r.campaign == "external" or r.id in SKIP:
        continue
    due = d(r.plan_finish)
    if due > date(2022, 12, 31):
        # long items: one progress report a year
        for y, v in ((2020, 0.15), (2021, 0.4), (2022, 0.65)):
            if rng.random() < 0.7:
                when = date(y, 11, 30)
                fact("progress", r.id, when, when + timedelta(days=15), f"{min(v + rng.uniform(-0.1, 0.1), 0.95):.2f}",
                     "district progress report, November")
        continue
    quiet = bool(set(lead(r.units)) & silent_units)
    u = rng.random()
    p_none = 0.45 if quiet else 0.12
    if u < p_none:
        continue  # nobody reports on it
    u = rng.uniform(p_none, 1.0)
    start = d(r.plan_start) if isinstance(r.plan_start, str) else due - timedelta(days=365)
    if u < 0.62:  # on time
        span = max((due - max(start, d("2020-01-16"))).days, 1)
        when = due - timedelta(days=int(rng.uniform(0, min(120, span - 1)))) if span > 1 else due
        lag = int(rng.choice([8, 15, 25, 40]))
        fact("finish", r.id, when, when + timedelta(days=lag), what="monthly progress meeting minutes")
    elif u < 0.80:  # late
        when = due + timedelta(days=int(rng.uniform(20, 300)))
        if when > date(2022, 12, 31):
            when = date(2022, 12, 20)
        # progress reported at the year end it was due
        fact("progress", r.id, min(due, date(2022, 12, 15)), min(due, date(2022, 12, 15)) + timedelta(days=10),
             f"{rng.uniform(0.6, 0.9):.2f}", "year-end progress report")
        fact("finish", r.id, when, when + timedelta(days=int(rng.choice([10, 20, 45]))),
             what="monthly progress meeting minutes")
    else:  # reported, not done by the end of the year it was due
        when = min(due, date(2022, 12, 15))
        if rng.random() < 0.4:
            fact("unfinished", r.id, when, when + timedelta(days=10), "", "year-end check: not finished")
        else:
            fact("progress", r.id, when, when + timedelta(days=10), f"{rng.uniform(0.4, 0.9):.2f}",
                 "year-end progress report")
# KPIs: a year-end value published in March, and a September value for 2022
DPY = 365.25
base = d("2020-01-16")
for k in kpis.itertuples():
    if rng.random() < 0.35:
        continue  # not published for the corridor
    factor = rng.uniform(0.75, 1.15)
    for when, reported in ((d("2020-12-31"), d("2021-03-15")), (d("2021-12-31"), d("2022-03-15")),
                           (d("2022-09-30"), d("2022-11-10"))):
        t = (when - base).days / DPY
        if k.kind == "index":
            v = k.baseline * (1 + k.rate_per_year * factor) ** t
            txt = f"{v:.4g}"
        elif k.measure == "cumulative":
            v = round(k.rate_per_year * factor * t)
            txt = f"{v:d}"
        else:
            v = round(k.baseline + k.rate_per_year * factor * t)
            txt = f"{v:d}"
        fact("kpi", k.id, when, reported, txt, "statistical bulletin of the corridor office")
fact("shock", "SH_TYPHOON_2020", d("2020-08-10"), d("2020-08-20"), "5", "site stoppage order after a typhoon")
fact("shock", "SH_TYPHOON_2021", d("2021-09-15"), d("2021-09-20"), "0", "no typhoon stoppage this season")
for kid, when, v in (("K05_HIGH_TECH", "2022-12-31", "900"), ("K08_TALENTS", "2021-12-31", "1200")):
    fact("kpi_at_least", kid, d(when), d(when) + timedelta(days=20), v,
         "preliminary count: at least this many, final figure pending")
rows.sort(key=lambda r: (r["reported"], r["id"]))
with open(out, "w", encoding="utf-8", newline="") as f:
    w = csv.DictWriter(f, fieldnames=["kind", "id", "date", "reported", "value", "source", "note"])
    w.writeheader(); w.writerows(rows)
print(len(rows), "facts")
