"""Apply a response of the register (responses.csv) to a compiled model.

A response changes parameters, never draws: a risk's probability (the same occurrence
uniform is compared with the new probability), its impact (the same impact draw is scaled,
in days and in cost), or the planned work of items (the same multiplier applies to less or
more work). So a model with a response and the model without it run on common random
numbers, and a response with no effect (value 1) gives the same records row by row.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from sim.engine.compiled import CompiledModel
from sim.model.entities import Response
from sim.model.select import resolve


def apply_response(model: CompiledModel, response: Response) -> CompiledModel:
    """``model`` with ``response`` in effect (a new model; ``model`` is unchanged)."""
    if response.effect == "duration":
        idx = np.array([model.index[i] for i in resolve(model.plan, response.acts_on)], dtype=np.int64)
        work = model.base_work.copy()
        work[idx] *= response.value
        elapsed = None if model.elapsed_work is None else model.elapsed_work.copy()
        if elapsed is not None:
            elapsed[idx] *= response.value  # the share already done stays the same
        return replace(model, base_work=work, elapsed_work=elapsed)
    hit = set(response.acts_on)
    risks = []
    for r in model.risks:
        if r.risk_id not in hit:
            risks.append(r)
        elif response.effect == "probability":
            risks.append(replace(r, probability=min(r.probability * response.value, 1.0)))
        else:
            risks.append(replace(r, impact_scale=r.impact_scale * response.value))
    return replace(model, risks=tuple(risks))
