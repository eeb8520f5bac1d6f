"""The named conformance checks every attack and defense must pass.

Each check takes the component and a :class:`Harness` (a tiny problem built for the
component's family, see :mod:`mlsiege.checks.harnesses`) and raises ``AssertionError`` with a
sentence naming what broke. A check that does not apply raises :class:`unittest.SkipTest` with
the reason (pytest reports it as skipped, ``python -m mlsiege.checks`` as SKIP): it never passes
silently. ``yield_checks`` in :mod:`mlsiege.checks` picks them by family, in
the manner of scikit-learn's ``check_estimator`` and river's ``checks``.
"""

from __future__ import annotations

import copy
import inspect
import re
import unittest
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlsiege.errors import CapabilityError
from mlsiege.results import AttackResult, comparable
from mlsiege.schema import Schema
from mlsiege.targets import Budgeted

__all__ = [
    "Harness",
    "check_black_box",
    "check_budget_respected",
    "check_docstring_cites_source",
    "check_input_not_mutated",
    "check_outputs_satisfy_schema",
    "check_returns_result",
    "check_same_seed_same_result",
    "needs",
    "skip",
]


def skip(reason: str) -> None:
    """Mark the running check as not applicable (``unittest.SkipTest``: pytest shows it skipped)."""
    raise unittest.SkipTest(reason)

_CITATION = re.compile(r"(19|20)\d\d")


class CountingTarget:
    """A pure black box (label-only unless ``proba`` is given) that counts rows it answered.

    Used to verify that a component never queries past :class:`Budgeted`.
    """

    def __init__(self, fn: Callable[[np.ndarray], Any], kind: str = "classifier", proba: Callable | None = None) -> None:
        self._fn = fn
        self._proba = proba
        self.kind = kind
        self.rows = 0
        self.classes_ = np.array([0, 1])

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name == "predict" and self.kind in ("classifier", "regressor"):
            return self._count(self._fn)
        if name == "predict_proba" and self.kind == "classifier" and self._proba is not None:
            return self._count(self._proba)
        if name == "score" and self.kind == "scorer":
            return self._count(self._fn)
        if name == "recommend" and self.kind == "recommender":
            return lambda users, k: self._count(lambda u: self._fn(u, k))(users)
        raise AttributeError(name)

    def _count(self, fn: Callable) -> Callable:
        def call(X: Any) -> Any:
            self.rows += len(X)
            return np.asarray(fn(np.asarray(X)))

        return call


@dataclass
class Harness:
    """A tiny problem for one family of components.

    ``run(component, target, data, seed)`` runs the component once (``target`` is ``None`` for
    families that see no target) and returns its result; ``data()`` builds fresh inputs;
    ``make_target()`` a fresh :class:`CountingTarget`; ``produced(result, data)`` the rows the
    component produced with the rows they derive from (for the schema check).
    """

    family: str
    run: Callable[[Any, Any, dict, int], Any]
    data: Callable[[], dict[str, Any]]
    make_target: Callable[[], CountingTarget] | None = None
    make_label_only: Callable[[], CountingTarget] | None = None
    budget: int | None = None
    schema: Schema | None = None
    produced: Callable[[Any, dict], tuple[np.ndarray, np.ndarray | None] | None] | None = None
    result_type: type = AttackResult
    extra: dict[str, Any] = field(default_factory=dict)

    def target(self, label_only: bool = False) -> tuple[CountingTarget | None, Budgeted | None]:
        make = self.make_label_only if label_only else self.make_target
        if make is None:
            return None, None
        raw = make()
        return raw, Budgeted(raw, self.budget)


def check_docstring_cites_source(component: Any, harness: Harness | None = None) -> None:
    """The component has a docstring that cites its source (a paper or documented method, with a year)."""
    doc = inspect.getdoc(component) or ""
    name = getattr(component, "__name__", repr(component))
    assert doc.strip(), f"{name} has no docstring"
    assert _CITATION.search(doc), f"{name}'s docstring cites no source (no year of a paper or reference)"


def check_returns_result(component: Any, harness: Harness) -> None:
    """The component returns the result type of its family."""
    raw, target = harness.target()
    result = harness.run(component, target, harness.data(), 0)
    assert isinstance(result, harness.result_type), (
        f"{component.__name__} returned {type(result).__name__}, not {harness.result_type.__name__}"
    )


def check_input_not_mutated(component: Any, harness: Harness) -> None:
    """Arrays passed in are left exactly as they were."""
    data = harness.data()
    before = copy.deepcopy(data)
    raw, target = harness.target()
    harness.run(component, target, data, 0)
    for key, value in before.items():
        assert comparable(value) == comparable(data[key]), f"{component.__name__} mutated its input {key!r}"


def check_budget_respected(component: Any, harness: Harness) -> None:
    """Never one row over the budget, every row goes through Budgeted, and running out is not a crash."""
    if harness.make_target is None or harness.budget is None:
        skip(f"the {harness.family} family queries no target")
    raw, target = harness.target()
    result = harness.run(component, target, harness.data(), 0)
    assert target is not None and raw is not None
    assert target.queries_used <= harness.budget, (
        f"{component.__name__} used {target.queries_used} rows over a budget of {harness.budget}"
    )
    assert raw.rows == target.queries_used, (
        f"{component.__name__} sent {raw.rows} rows to the target but only {target.queries_used} through Budgeted"
    )
    queries = getattr(result, "queries", None)
    if queries is not None:
        assert queries == target.queries_used, (
            f"{component.__name__} reports {queries} queries but spent {target.queries_used}"
        )


def check_same_seed_same_result(component: Any, harness: Harness) -> None:
    """Two runs with the same seed on fresh inputs give identical results (timings aside)."""
    _, t1 = harness.target()
    a = harness.run(component, t1, harness.data(), 7)
    _, t2 = harness.target()
    b = harness.run(component, t2, harness.data(), 7)
    assert comparable(a) == comparable(b), f"{component.__name__} gave different results for the same seed"


def check_outputs_satisfy_schema(component: Any, harness: Harness) -> None:
    """Every row the component produces satisfies the schema (immutables held to the original)."""
    if harness.schema is None or harness.produced is None:
        skip(f"the {harness.family} family produces no rows in the schema's space")
    _, target = harness.target()
    data = harness.data()
    result = harness.run(component, target, data, 0)
    produced = harness.produced(result, data)
    if produced is None:
        skip(f"{component.__name__} returned no produced rows (artifact absent)")
    rows, originals = produced
    if len(rows) == 0:
        skip(f"{component.__name__} produced zero rows on the tiny problem: nothing to hold to the schema")
    ok = harness.schema.valid_mask(rows, originals)
    assert ok.all(), (
        f"{component.__name__} produced {int((~ok).sum())} of {len(rows)} rows that violate the schema: "
        f"{harness.schema.explain(rows, originals, limit=3)}"
    )


def needs(component: Any) -> tuple[str, ...]:
    """What a recipe declares the API must answer (``recipe.needs``, e.g. ``("scores",)``); ``()`` = labels suffice."""
    return tuple(getattr(component, "needs", ()) or ())


def check_black_box(component: Any, harness: Harness) -> None:
    """Works against a pure label-only callable: no model internals, no probabilities, no scores.

    The target answers ``predict`` only. A recipe that reads scores from it
    (:class:`~mlsiege.errors.CapabilityError` from :class:`Budgeted`) or sends it nothing fails,
    unless it declares ``recipe.needs = ("scores", ...)``: then it must refuse the label-only
    target cleanly (a ``failed`` result naming why, or a ``CapabilityError``) without a query.
    """
    if harness.make_label_only is None:
        skip(f"the {harness.family} family queries no label-only target")
    raw, target = harness.target(label_only=True)
    name = component.__name__
    declared = "scores" in needs(component)
    try:
        result = harness.run(component, target, harness.data(), 0)
    except CapabilityError as exc:
        if declared and raw.rows == 0:
            return
        raise AssertionError(f"{name} needs more than labels from a label-only target: {exc}") from exc
    assert isinstance(result, harness.result_type), f"{name} returned {type(result).__name__} on a label-only target"
    if declared:
        assert raw.rows == 0 and getattr(result, "status", None) == "failed" and getattr(result, "failure_reason", None), (
            f"{name} declares it needs scores but did not refuse the label-only target cleanly "
            f"(status {getattr(result, 'status', None)!r}, {raw.rows} rows sent)")
        return
    assert raw.rows > 0, f"{name} sent no query to the label-only target"
