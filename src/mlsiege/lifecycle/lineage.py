"""Record-level lineage: where every training record came from and which models it reached.

Every ingested record gets a ``record_id``, its ``source``, ``batch``, ``ingest_time`` and a
``content_hash`` (SHA-256 of its values and label). Datasets are sets of record ids with the
datasets they were derived from; models remember the dataset they were fitted on and how to
refit. That answers "which models did records from source S reach?"
(:meth:`Lineage.models_reached_by`), "where did this row come from?" (:meth:`Lineage.where_from`)
and removes a bad source everywhere downstream (:meth:`Lineage.purge_and_retrain`).

Each ingest, derivation, training and purge is also emitted as an OpenLineage ``RunEvent``
(inputs -> outputs, row counts) through the ``openlineage-python`` client: to a JSON-lines file
by default (``FileTransport`` in append mode), or to any transport you pass, e.g. the HTTP
transport of a Marquez server you already run. Needs the ``data`` extra only when emitting.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlsiege.errors import ConfigError, DataValidationError
from mlsiege.extras import require

__all__ = ["Lineage", "ModelNode", "PurgeReport", "content_hash"]

RECORD_COLUMNS = ("record_id", "source", "batch", "ingest_time", "content_hash", "purged")


def content_hash(row: Any, label: Any = None) -> str:
    """SHA-256 (hex, 16 chars) of a row's float64 values and its label: the same row, the same hash."""
    values = np.ascontiguousarray(np.asarray(row, dtype=np.float64).ravel())
    h = hashlib.sha256(values.tobytes())
    h.update(repr(None if label is None else np.asarray(label).item()).encode())
    return h.hexdigest()[:16]


@dataclass
class ModelNode:
    """A trained model: its dataset, how to refit it, the fitted object and its metrics."""

    name: str
    dataset: str
    fit: Callable[[np.ndarray, np.ndarray], Any]
    evaluate: Callable[[Any], dict[str, float]] | None
    model: Any = None
    metrics: dict[str, float] = field(default_factory=dict)
    version: int = 1


@dataclass(frozen=True)
class PurgeReport:
    """What a purge removed and what retraining gave back."""

    source: str
    records_removed: int
    datasets: tuple[str, ...]
    models: dict[str, dict[str, Any]]


class _Emitter:
    """OpenLineage RunEvents through the official client (file transport by default)."""

    def __init__(self, target: str | Path | Any | None, namespace: str) -> None:
        self.namespace = namespace
        self.client = None
        self.count = 0
        if target is None:
            return
        client_mod = require("openlineage.client", extra="data", package="openlineage-python")
        if isinstance(target, (str, Path)):
            from openlineage.client.transport.file import FileConfig, FileTransport

            Path(target).parent.mkdir(parents=True, exist_ok=True)
            transport = FileTransport(FileConfig(log_file_path=str(target), append=True))
        else:
            transport = target
        self.client = client_mod.OpenLineageClient(transport=transport)

    def emit(self, job: str, inputs: Iterable[tuple[str, int]], outputs: Iterable[tuple[str, int]]) -> None:
        if self.client is None:
            return
        from openlineage.client.event_v2 import (
            InputDataset,
            Job,
            OutputDataset,
            Run,
            RunEvent,
            RunState,
        )
        from openlineage.client.facet_v2 import output_statistics_output_dataset as stats
        from openlineage.client.uuid import generate_new_uuid

        event = RunEvent(
            eventType=RunState.COMPLETE,
            eventTime=datetime.now(UTC).isoformat(),
            run=Run(runId=str(generate_new_uuid())),
            job=Job(namespace=self.namespace, name=job),
            producer="https://github.com/mlsiege/mlsiege",
            inputs=[InputDataset(namespace=self.namespace, name=n) for n, _ in inputs],
            outputs=[
                OutputDataset(namespace=self.namespace, name=n,
                              outputFacets={"outputStatistics": stats.OutputStatisticsOutputDatasetFacet(rowCount=int(c))})
                for n, c in outputs
            ],
        )
        self.client.emit(event)
        self.count += 1


class Lineage:
    """A lineage store for records, datasets and models (in memory), emitting OpenLineage events.

    Parameters
    ----------
    emit
        ``None`` (no events), a file path (OpenLineage JSON lines, appended) or an
        ``openlineage.client`` transport object.
    namespace
        OpenLineage namespace of every job and dataset.

    Examples
    --------
    >>> import numpy as np
    >>> lin = Lineage()
    >>> ids = lin.ingest(np.zeros((3, 2)), np.array([0, 1, 0]), source="feed_a", batch="b1")
    >>> _ = lin.derive("train", ["raw/feed_a"])
    >>> lin.datasets_reached_by("feed_a")
    ['raw/feed_a', 'train']
    """

    def __init__(self, emit: str | Path | Any | None = None, namespace: str = "mlsiege") -> None:
        self._emitter = _Emitter(emit, namespace)
        self._X: list[np.ndarray] = []
        self._y: list[np.ndarray] = []
        self.records = pd.DataFrame({c: pd.Series(dtype=object) for c in RECORD_COLUMNS})
        self.datasets: dict[str, dict[str, Any]] = {}
        self.models: dict[str, ModelNode] = {}

    # ------------------------------------------------------------------ building
    @property
    def events_emitted(self) -> int:
        return self._emitter.count

    def _rows(self) -> tuple[np.ndarray, np.ndarray]:
        if not self._X:
            return np.empty((0, 0)), np.empty(0)
        return np.vstack(self._X), np.concatenate(self._y)

    def ingest(
        self, X: Any, y: Any, *, source: str, batch: str | None = None, time: Any = None,
        dataset: str | None = None, schema: Any = None,
    ) -> np.ndarray:
        """Add records from one source; returns their ids.

        The batch is checked first (shape, finite values, ``schema`` when given) and refused as
        a whole with a :class:`DataValidationError` naming the bad rows; what was ingested
        before stays. Records go to the dataset ``dataset`` (default ``raw/<source>``).
        """
        X = np.atleast_2d(np.asarray(X, dtype=float))
        y = np.asarray(y)
        if y.shape != (len(X),):
            raise DataValidationError(f"batch from {source!r}: {len(X)} rows but {y.size} labels")
        if self._X and X.shape[1] != self._X[0].shape[1]:
            raise DataValidationError(f"batch from {source!r}: {X.shape[1]} columns, the store holds {self._X[0].shape[1]}")
        bad = np.flatnonzero(~np.isfinite(X).all(axis=1))
        if schema is not None and not len(bad):
            bad = np.flatnonzero(~schema.valid_mask(X))
        if len(bad):
            raise DataValidationError(f"batch {batch!r} from {source!r} refused: {len(bad)} rows are invalid", rows=bad.tolist())
        start = len(self.records)
        ids = np.arange(start, start + len(X))
        when = pd.Timestamp.now(tz="UTC") if time is None else time
        times = np.broadcast_to(np.asarray(when, dtype=object), (len(X),))
        new = pd.DataFrame({
            "record_id": ids, "source": str(source), "batch": str(batch) if batch is not None else f"{source}-{start}",
            "ingest_time": list(times), "content_hash": [content_hash(r, lab) for r, lab in zip(X, y, strict=True)],
            "purged": False,
        })
        self.records = new if start == 0 else pd.concat([self.records, new], ignore_index=True)
        self._X.append(X.copy())
        self._y.append(y.copy())
        name = dataset or f"raw/{source}"
        node = self.datasets.setdefault(name, {"records": np.empty(0, dtype=int), "inputs": [], "kind": "raw"})
        node["records"] = np.concatenate([node["records"], ids])
        self._emitter.emit(f"ingest/{source}", [], [(name, len(node["records"]))])
        return ids

    def derive(self, name: str, inputs: list[str], select: Callable[[pd.DataFrame, np.ndarray, np.ndarray], Any] | None = None) -> np.ndarray:
        """A dataset made of the union of ``inputs`` (optionally filtered by ``select``); returns its ids.

        ``select(records, X, y) -> bool mask`` sees the union's records table and rows.
        """
        unknown = [i for i in inputs if i not in self.datasets]
        if unknown:
            raise ConfigError(f"unknown input dataset(s) {unknown}; known: {sorted(self.datasets)}")
        ids = np.unique(np.concatenate([self.datasets[i]["records"] for i in inputs]))
        if select is not None:
            X, y = self._rows()
            mask = np.asarray(select(self.records.iloc[ids].reset_index(drop=True), X[ids], y[ids]), dtype=bool)
            ids = ids[mask]
        self.datasets[name] = {"records": ids, "inputs": list(inputs), "kind": "derived", "select": select}
        self._emitter.emit(f"derive/{name}", [(i, len(self.datasets[i]["records"])) for i in inputs], [(name, len(ids))])
        return ids

    def data(self, name: str) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
        """Rows, labels and records table of a dataset (purged records excluded)."""
        if name not in self.datasets:
            raise ConfigError(f"unknown dataset {name!r}; known: {sorted(self.datasets)}")
        ids = self.datasets[name]["records"]
        X, y = self._rows()
        return X[ids], y[ids], self.records.iloc[ids].reset_index(drop=True)

    def train(
        self, name: str, dataset: str, fit: Callable[[np.ndarray, np.ndarray], Any],
        evaluate: Callable[[Any], dict[str, float]] | None = None,
    ) -> ModelNode:
        """Fit a model on a dataset with ``fit(X, y) -> model`` and remember how, for retraining."""
        X, y, _ = self.data(dataset)
        node = ModelNode(name, dataset, fit, evaluate)
        node.model = fit(X, y)
        node.metrics = dict(evaluate(node.model)) if evaluate else {}
        self.models[name] = node
        self._emitter.emit(f"train/{name}", [(dataset, len(X))], [(f"model/{name}", 1)])
        return node

    # ------------------------------------------------------------------ queries
    def _ids_of_source(self, source: str) -> np.ndarray:
        return self.records.loc[self.records["source"] == source, "record_id"].to_numpy(dtype=int)

    def datasets_reached_by(self, source: str) -> list[str]:
        """Datasets holding at least one (unpurged) record from ``source``."""
        ids = self._ids_of_source(source)
        return sorted(n for n, d in self.datasets.items() if np.isin(d["records"], ids).any())

    def models_reached_by(self, source: str) -> list[str]:
        """Models whose training dataset holds records from ``source``."""
        reached = set(self.datasets_reached_by(source))
        return sorted(n for n, m in self.models.items() if m.dataset in reached)

    def where_from(self, row: Any = None, label: Any = None, *, record_id: int | None = None) -> list[dict[str, Any]]:
        """Provenance of a record (by id) or of every record with this row's content hash.

        Each answer: ``record_id``, ``source``, ``batch``, ``ingest_time``, ``content_hash``,
        the ``datasets`` and ``models`` it reached, and whether it was ``purged``.
        """
        if record_id is not None:
            hits = self.records[self.records["record_id"] == record_id]
        elif row is not None:
            hits = self.records[self.records["content_hash"] == content_hash(row, label)]
        else:
            raise ConfigError("where_from needs a row (and its label) or a record_id")
        out = []
        for _, rec in hits.iterrows():
            rid = int(rec["record_id"])
            ds = sorted(n for n, d in self.datasets.items() if rid in set(d["records"].tolist()))
            models = sorted(n for n, m in self.models.items() if m.dataset in ds)
            out.append({**{c: rec[c] for c in RECORD_COLUMNS}, "record_id": rid, "datasets": ds, "models": models})
        return out

    # ------------------------------------------------------------------ purge
    def purge_and_retrain(self, source: str) -> PurgeReport:
        """Remove every record of ``source`` from every dataset and refit every model they reached.

        Derived datasets keep their ``select`` filter; models are refit with their own ``fit``
        and re-evaluated. The report holds each model's metrics before and after.
        """
        ids = self._ids_of_source(source)
        if not len(ids):
            raise ConfigError(f"no record from source {source!r}; sources: {sorted(self.records['source'].unique())}")
        touched = self.datasets_reached_by(source)
        models = self.models_reached_by(source)
        for name in touched:
            before = len(self.datasets[name]["records"])
            self.datasets[name]["records"] = self.datasets[name]["records"][~np.isin(self.datasets[name]["records"], ids)]
            self._emitter.emit(f"purge/{source}/{name}", [(name, before)], [(name, len(self.datasets[name]["records"]))])
        self.records.loc[self.records["source"] == source, "purged"] = True
        report: dict[str, dict[str, Any]] = {}
        for name in models:
            node = self.models[name]
            before = dict(node.metrics)
            X, y, _ = self.data(node.dataset)
            node.model = node.fit(X, y)
            node.metrics = dict(node.evaluate(node.model)) if node.evaluate else {}
            node.version += 1
            self._emitter.emit(f"train/{name}", [(node.dataset, len(X))], [(f"model/{name}", 1)])
            report[name] = {"before": before, "after": dict(node.metrics), "version": node.version, "rows": int(len(X))}
        return PurgeReport(source, int(len(ids)), tuple(touched), report)
