"""Shared paths and fixtures of the test suite.

Test modules import the paths (``from conftest import MINI_PARAMS``) or ask for
the fixtures by name.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]  # the repository
MINI_PARAMS = ROOT / "tests" / "fixtures" / "mini_params"  # a small complete params directory
SHIPPED_PARAMS = ROOT / "params"  # the action plan's params
SCENARIOS = ROOT / "scenarios"  # the shipped scenario files
EXAMPLE_ACTUALS = ROOT / "actuals" / "example.csv"


@pytest.fixture(scope="session")
def mini_plan():
    """The plan of ``MINI_PARAMS``, loaded once (plans are frozen records, safe to share)."""
    from sim.model.load import load_plan

    return load_plan(MINI_PARAMS)
