"""``sim serve``: the interactive what-if page for the planning office.

A local web app (Starlette on uvicorn, bound to 127.0.0.1) over one cached base:
the plan of a run directory (or params/), compiled once, and its replications'
met indicators, simulated once with the run's seed. Each what-if (slips,
a scenario, risks and shocks switched off or made certain) is a scenario
overlay applied to that plan and simulated with the same seed, so every
difference is paired on common random numbers.

Modules: :mod:`~sim.serve.whatif` (requests, evaluation, the scenario YAML; no
web code), :mod:`~sim.serve.api` (routes and JSON errors), :mod:`~sim.serve.app`
(the application and the server), ``static/`` (the page).
"""
