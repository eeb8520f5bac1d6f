"""Feature-space injection: append phony records drawn from the attacker's generator."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlsiege.attacks.poisoning.effect import (
    EFFECT_OPTIONS,
    check_xy,
    downstream_effect,
    poisoning_result,
)
from mlsiege.attacks.poisoning.generator import PhonyGenerator
from mlsiege.errors import ConfigError
from mlsiege.options import check_options
from mlsiege.schema import Schema

__all__ = ["InjectionConfig", "inject_phony_records"]


@dataclass(frozen=True)
class InjectionConfig:
    """``rate``: phony share of the poisoned set; ``label``: label the phony rows carry (default:
    the majority class, i.e. "looks normal"); ``shift`` / ``jitter``: see :class:`PhonyGenerator`."""

    rate: float = 0.05
    label: Any = None
    shift: float = 0.0
    jitter: float = 0.0
    metric: str = "auc"

    def __post_init__(self) -> None:
        if not 0.0 < self.rate < 0.5:
            raise ConfigError(f"rate must be in (0, 0.5), got {self.rate}")
        if not 0.0 <= self.shift <= 1.0 or self.jitter < 0:
            raise ConfigError(f"shift must be in [0, 1] and jitter >= 0, got {self.shift}, {self.jitter}")


def inject_phony_records(X: Any, y: Any, *, schema: Schema, seed: int = 0, **options: Any) -> Any:
    """Append phony records that imitate the rows of one label and carry that label.

    Feature-space poisoning by injection (Biggio, Nelson and Laskov 2012, "Poisoning attacks
    against support vector machines"; the fake-record setting of Fang et al. 2018): the
    attacker's :class:`~mlsiege.attacks.poisoning.generator.PhonyGenerator` imitates the
    ``label`` rows (a Gaussian copula of their marginals) and, with ``shift`` > 0, moves each
    record toward its payload rows ``toward`` (default: the rows of the other labels). Every
    phony record satisfies the schema; with ``accept`` (a callable ``X -> bool mask``, e.g. a
    deployed detector's "not rejected") only records that get through are kept.

    Parameters
    ----------
    X, y
        Clean training rows and labels.
    schema
        Feature space.
    seed
        Seed of the private generator.
    **options
        ``rate`` (0.05 of the poisoned set), ``label``, ``shift``, ``jitter``, ``toward``,
        ``accept``, ``metric``, ``model``, ``X_test``, ``y_test``.

    Returns
    -------
    AttackResult
        ``X_poisoned`` = clean rows then phony rows; ``is_poison`` marks the phony rows.
    """
    check_options("inject_phony_records", options, ("rate", "label", "shift", "jitter", "metric", "toward", "accept", *EFFECT_OPTIONS))
    started = time.perf_counter()
    config = InjectionConfig(
        rate=options.pop("rate", 0.05), label=options.pop("label", None), shift=options.pop("shift", 0.0),
        jitter=options.pop("jitter", 0.0), metric=options.pop("metric", "auc"),
    )
    X, y = check_xy(X, y, schema)
    values, counts = np.unique(y, return_counts=True)
    label = values[np.argmax(counts)] if config.label is None else config.label
    reference = X[y == label]
    toward = options.get("toward")
    if config.shift > 0 and toward is None:
        toward = X[y != label]
    gen = PhonyGenerator(schema, reference, toward=toward, shift=config.shift, jitter=config.jitter)
    k = math.ceil(config.rate * len(X) / (1.0 - config.rate))
    phony = gen.sample(k, seed, accept=options.get("accept"))
    X_p = np.vstack([X, phony])
    y_p = np.concatenate([y, np.full(len(phony), label, dtype=y.dtype)])
    is_poison = np.r_[np.zeros(len(X), bool), np.ones(len(phony), bool)]
    eff, _, _ = downstream_effect(
        X, y, X_p, y_p, X_test=options.get("X_test"), y_test=options.get("y_test"),
        model=options.get("model"), metric=config.metric, seed=seed,
    )
    eff["n_requested"] = k
    return poisoning_result(
        "inject_phony_records", X_p, y_p, is_poison, schema=schema, config=config, seed=seed, started=started,
        techniques=("AML.T0020",), metrics=eff, succeeded=len(phony) > 0 and eff["utility_drop"] > 0,
        reason="no phony record was accepted" if len(phony) == 0 else None,
    )
