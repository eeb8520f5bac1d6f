"""Data-stage defenses: screen training records before a model sees them.

Calling convention (see :mod:`mlsiege.checks.harnesses`): ``defense(X, y, meta, *, seed=0,
**options) -> DefenseResult`` with a keep mask and a suspicion score per record; ``meta`` is a
DataFrame (a ``source`` column where provenance matters). Pass the ground truth ``is_poison``
(and ``X_test``/``y_test``) as options and the result's ``cost`` reports ``benign_dropped`` and
``utility_lost``. Source-level defenses flag every record of a condemned source.
"""

from mlsiege.defenses.data.cv_labels import cv_label_filter_brodley1999
from mlsiege.defenses.data.knn_labels import knn_label_consistency_peri2020
from mlsiege.defenses.data.outliers import outlier_screen_mahalanobis
from mlsiege.defenses.data.provenance import provenance_filter_baracaldo2017
from mlsiege.defenses.data.roni import roni_nelson2008
from mlsiege.defenses.data.schema_validation import schema_validation
from mlsiege.defenses.data.spectral import spectral_signatures_tran2018
from mlsiege.defenses.data.trim import trim_jagielski2018

__all__ = [
    "cv_label_filter_brodley1999",
    "knn_label_consistency_peri2020",
    "outlier_screen_mahalanobis",
    "provenance_filter_baracaldo2017",
    "roni_nelson2008",
    "schema_validation",
    "spectral_signatures_tran2018",
    "trim_jagielski2018",
]
