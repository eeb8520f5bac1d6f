"""Detection metrics for coordinated-engagement defenses, over accounts.

False positives are reported twice: over all real accounts (``fpr``) and over the members of
benign coordinated groups (``fpr_benign_groups``: fan communities, friends), where a detector of
coordination is most likely to hurt real people.
"""

from __future__ import annotations

import numpy as np

__all__ = ["detection_scores"]


def detection_scores(flagged: np.ndarray, is_sybil: np.ndarray, benign_group: np.ndarray | None = None) -> dict[str, float | int]:
    """Precision, recall, F1 and false-positive rates of a flag mask against sybil labels.

    Precision is 1.0 when nothing is flagged (no wrong flag was raised); recall is 1.0 when
    there is no sybil; F1 is their harmonic mean (0 when both are 0).

    Examples
    --------
    >>> s = detection_scores(np.array([1, 1, 0, 1], bool), np.array([1, 1, 0, 0], bool))
    >>> s["precision"], s["recall"], s["fpr"]
    (0.6667, 1.0, 0.5)
    """
    flagged = np.asarray(flagged, dtype=bool)
    sybil = np.asarray(is_sybil, dtype=bool)
    tp = int((flagged & sybil).sum())
    fp = int((flagged & ~sybil).sum())
    real = int((~sybil).sum())
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / int(sybil.sum()) if sybil.any() else 1.0
    out: dict[str, float | int] = {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0,
        "fpr": round(fp / real, 6) if real else 0.0,
        "flagged": tp + fp,
        "false_positives": fp,
    }
    if benign_group is not None:
        members = np.asarray(benign_group) >= 0
        out["fpr_benign_groups"] = round(float((flagged & members).sum()) / max(int(members.sum()), 1), 4)
    return out
