"""Shape model answers per output policy: scores, rounded scores, labels only, top-k.

Classifiers answer ``{"label": ..., "proba": [...]}`` per row (``labels`` drops ``proba``;
``topk`` zeroes all but the ``k`` largest), anomaly scorers ``{"score": ...}`` and regressors
``{"label": value}``: the default layout of :class:`mlsiege.targets.http.HTTPTarget`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlsiege.gateway.policy import OutputPolicy

__all__ = ["Answers", "shape"]


class Answers:
    """Raw answers for a batch of rows: labels, and probabilities or scores where known."""

    __slots__ = ("labels", "proba", "scores")

    def __init__(self, labels: np.ndarray | None, proba: np.ndarray | None = None,
                 scores: np.ndarray | None = None) -> None:
        self.labels, self.proba, self.scores = labels, proba, scores

    def take(self, sl: slice) -> Answers:
        def cut(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[sl]
        return Answers(cut(self.labels), cut(self.proba), cut(self.scores))


def _plain(values: np.ndarray) -> list[Any]:
    return values.tolist() if values.dtype != object else [v.item() if hasattr(v, "item") else v for v in values]


def shape(answers: Answers, policy: OutputPolicy) -> list[Any]:
    """One JSON-ready prediction per row under ``policy``."""
    labels = None if answers.labels is None else _plain(answers.labels)
    if answers.scores is not None:
        scores = answers.scores
        if policy.mode in ("rounded", "labels", "topk"):
            scores = np.round(scores, policy.decimals if policy.mode == "rounded" else 0)
        return [{"score": s} for s in scores.tolist()]
    if answers.proba is None or policy.mode == "labels":
        return [{"label": v} for v in labels or []]
    proba = answers.proba
    if policy.mode == "rounded":
        proba = np.round(proba, policy.decimals)
    elif policy.mode == "topk" and policy.k < proba.shape[1]:
        drop = np.argsort(-proba, axis=1)[:, policy.k:]
        proba = proba.copy()
        np.put_along_axis(proba, drop, 0.0, axis=1)
    return [{"label": lab, "proba": p} for lab, p in zip(labels or [], proba.tolist(), strict=True)]
