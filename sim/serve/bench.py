"""Response time of the what-if page's evaluation (a part of ``sim bench``; never a timed test).

The base of 2,000 replications is simulated once, then distinct what-ifs (none
answered from the cache) are evaluated as the ``/api/whatif`` route does:
parse, apply, simulate on common random numbers, tabulate, encode as JSON.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

from sim.engine.runner import Executor, RunConfig
from sim.model.entities import Plan
from sim.serve.api import clean
from sim.serve.request import parse_request
from sim.serve.whatif import Base

REQUESTS: tuple[dict[str, Any], ...] = (
    {"slips": [{"item": "T14", "by": 6, "unit": "months"}]},
    {"slips": [{"item": "T14", "by": 3, "unit": "months"}, {"item": "T03", "by": 90, "unit": "days"}]},
    {"slips": [{"item": "T14", "to": "2023-12-31"}], "risks": {"R_FUNDING": "off"}},
    {"scenario": "covid-2020", "slips": [{"item": "T14", "by": 6, "unit": "months"}]},
    {"shocks": {"SH_FUNDING_FREEZE": "certain"}},
)


def whatif_lines(plan: Plan, *, runs: int = 2000, scenarios_dir: Path | None = Path("scenarios")) -> list[str]:
    """Base start-up time and per-what-if response times at ``runs`` replications."""
    t0 = time.perf_counter()
    base = Base(plan, RunConfig(runs=runs, executor=Executor.INLINE, workers=1), scenarios_dir=scenarios_dir)
    start = time.perf_counter() - t0
    items = {it.id for it in plan.items}
    times = []
    for k, body in enumerate(REQUESTS):
        if any(s["item"] not in items for s in body.get("slips", ())) or \
                (body.get("scenario") and body["scenario"] not in base.scenarios):
            continue  # another plan: only the requests it can answer
        t1 = time.perf_counter()
        whatif = parse_request(body, plan, scenarios=base.scenarios)
        json.dumps(clean(base.evaluate(whatif, f"bench-{k}")), allow_nan=False)
        times.append(time.perf_counter() - t1)
    if not times:
        return [f"what-if page ({runs} replications): base {start:.2f} s; no sample request fits this plan"]
    return [f"what-if page, {runs} replications, one process: base {start:.2f} s; {len(times)} what-ifs: "
            f"median {statistics.median(times):.2f} s, max {max(times):.2f} s (target: about 2 s)"]
