"""Tiny synthetic data for the poisoning tests: two Gaussian classes in a bounded schema."""

from __future__ import annotations

import numpy as np
import pytest

from mlsiege.schema import Feature, Schema


def make_blobs(n: int = 300, seed: int = 0, shift: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.normal(0.0, 1.0, (n, 4)) + shift * y[:, None] * np.array([1.0, 1.0, 0.0, 0.0])
    return np.clip(X, -6, 8), y


@pytest.fixture
def blob_schema() -> Schema:
    return Schema([Feature(f"f{j}", "real", -6.0, 8.0) for j in range(4)])


@pytest.fixture
def blobs():
    X, y = make_blobs(300, 0)
    Xt, yt = make_blobs(300, 1)
    return X, y, Xt, yt
