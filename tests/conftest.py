"""Shared fixtures: tiny synthetic data only, never downloads."""

from __future__ import annotations

import numpy as np
import pytest

from mlsiege.checks.harnesses import tiny_world


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def world():
    return tiny_world(0)
