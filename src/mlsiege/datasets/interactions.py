"""Engagement logs as a sparse ``users x items`` matrix with (optional) timestamps and original ids.

Formats: ``ratings`` (``user item rating [timestamp]`` per line, whitespace- or comma-separated,
header optional and detected, ids kept as the exact strings given: the format of most public
rating data), MovieLens (``user item rating timestamp`` tab-separated as in ml-100k, or
``::``-separated as in ml-1m; Harper & Konstan 2015), a CSV or Parquet table with a header
holding ``user,item[,rating][,timestamp]``, and an optional follow/trust edge list
(``follower followee`` per line).

A log without timestamps has ``timestamps=None``: nothing invents a time (not even line order),
so detectors that need time can say they were skipped. Duplicate (user, item) pairs are merged,
not rejected: the pair keeps its latest timestamp and the rating given then; without timestamps,
the later line in the file wins (a merge rule, not a time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from mlsiege.errors import DataValidationError

__all__ = [
    "FORMATS",
    "Interactions",
    "from_arrays",
    "load_follows",
    "load_interactions",
    "load_labels",
    "load_movielens",
    "load_ratings",
    "load_table",
    "plain_id",
]

#: every value ``--format`` accepts
FORMATS = ("ratings", "movielens", "csv", "parquet")


def plain_id(value: object) -> object:
    """An id as a plain Python value (numpy scalars unwrapped), for CSV and JSON outputs.

    Examples
    --------
    >>> plain_id(np.int64(7)), plain_id(np.str_("u7")), plain_id("007")
    (7, 'u7', '007')
    """
    return value.item() if isinstance(value, np.generic) else value


@dataclass(frozen=True)
class Interactions:
    """Merged engagements.

    Attributes
    ----------
    matrix
        ``users x items`` CSR of ratings (1.0 for implicit feedback).
    timestamps
        ``users x items`` CSR of the latest timestamp per pair (same sparsity as ``matrix``), or
        ``None`` when the log holds no time.
    user_ids, item_ids
        Original ids, position = row / column index.
    duplicates
        How many duplicate rows were merged.
    """

    matrix: sp.csr_matrix
    timestamps: sp.csr_matrix | None
    user_ids: np.ndarray
    item_ids: np.ndarray
    duplicates: int = 0

    @property
    def n_users(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.matrix.shape[1])

    @property
    def nnz(self) -> int:
        return int(self.matrix.nnz)

    @property
    def has_time(self) -> bool:
        return self.timestamps is not None

    @property
    def explicit(self) -> bool:
        """True when the log holds explicit ratings (more than one distinct value)."""
        return bool(self.matrix.nnz) and np.unique(self.matrix.data).size > 1


def _codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct ids and each value's position among them (as ``np.unique``, faster)."""
    codes, uniques = pd.factorize(values, sort=True)
    ids = np.asarray(uniques)
    return (ids.astype(values.dtype) if values.dtype.kind in "US" else ids), codes.astype(np.int64)


def from_arrays(
    users: np.ndarray,
    items: np.ndarray,
    ratings: np.ndarray | None = None,
    timestamps: np.ndarray | None = None,
) -> Interactions:
    """Build :class:`Interactions` from parallel arrays of raw ids (any hashable labels).

    Without ``timestamps`` the result has ``timestamps=None`` and a duplicate pair keeps its
    later row.
    """
    users, items = np.asarray(users), np.asarray(items)
    n = len(users)
    if len(items) != n:
        raise DataValidationError(f"users and items differ in length: {n} vs {len(items)}")
    ratings = np.ones(n, dtype=np.float32) if ratings is None else np.asarray(ratings, dtype=np.float32)
    stamps = None if timestamps is None else np.asarray(timestamps, dtype=np.float64)
    finite = np.isfinite(ratings) if stamps is None else np.isfinite(ratings) & np.isfinite(stamps)
    bad = np.flatnonzero(~finite)
    if bad.size:
        raise DataValidationError("ratings and timestamps must be finite numbers", rows=bad.tolist())
    user_ids, u = _codes(users)
    item_ids, i = _codes(items)
    # keep, per pair, the latest row: sort by (pair, time, row) and take each pair's last row
    pair = u.astype(np.int64) * len(item_ids) + i
    keys = (np.arange(n), pair) if stamps is None else (np.arange(n), stamps, pair)
    order = np.lexsort(keys)
    last = np.ones(n, dtype=bool)
    last[:-1] = pair[order][1:] != pair[order][:-1]
    keep = order[last]
    shape = (len(user_ids), len(item_ids))
    matrix = sp.csr_matrix((ratings[keep], (u[keep], i[keep])), shape=shape, dtype=np.float32)
    matrix.sort_indices()
    times = None
    if stamps is not None:
        times = sp.csr_matrix((stamps[keep], (u[keep], i[keep])), shape=shape, dtype=np.float64)
        times.sort_indices()
    return Interactions(matrix, times, user_ids, item_ids, duplicates=int(n - keep.size))


def _finish(frame: pd.DataFrame, source: str) -> Interactions:
    if frame.empty:
        raise DataValidationError(f"{source} holds no interactions")
    ratings = frame["rating"].to_numpy() if "rating" in frame else None
    stamps = frame["timestamp"].to_numpy() if "timestamp" in frame else None
    try:
        ratings = None if ratings is None else ratings.astype(np.float32)
        stamps = None if stamps is None else stamps.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise DataValidationError(f"{source}: rating and timestamp must be numbers ({exc})") from exc
    return from_arrays(frame["user"].to_numpy(), frame["item"].to_numpy(), ratings, stamps)


def load_movielens(path: str | Path) -> Interactions:
    """Read ``user item rating timestamp`` lines, tab- (ml-100k) or ``::``-separated (ml-1m)."""
    path = Path(path)
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        first = fh.readline()
    sep = "::" if "::" in first else ("\t" if "\t" in first else r"\s+")
    try:
        frame = pd.read_csv(
            path, sep=sep, header=None, engine="python" if sep != "\t" else "c",
            names=["user", "item", "rating", "timestamp"], usecols=[0, 1, 2, 3],
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataValidationError(f"{path.name}: not a MovieLens-format ratings file ({exc})") from exc
    if frame.isna().any(axis=None):
        bad = np.flatnonzero(frame.isna().any(axis=1).to_numpy())
        raise DataValidationError(f"{path.name}: expected 4 fields per line (user item rating timestamp)", rows=bad.tolist())
    return _finish(frame, path.name)


def load_table(path: str | Path) -> Interactions:
    """Read a CSV or Parquet table whose header holds ``user,item[,rating][,timestamp]``."""
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            frame = pd.read_parquet(path)
        except (ImportError, ValueError, OSError) as exc:
            raise DataValidationError(f"{path.name}: cannot read Parquet ({exc})") from exc
    else:
        frame = pd.read_csv(path)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in ("user", "item") if c not in frame.columns]
    if missing:
        raise DataValidationError(f"{path.name}: missing column(s) {missing}; expected user,item[,rating][,timestamp]", columns=missing)
    return _finish(frame, path.name)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _first_line(path: Path) -> tuple[int, str]:
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                return number, line
    raise DataValidationError(f"{path.name} holds no interactions")


def _first_bad(mask: np.ndarray, lines: np.ndarray) -> int:
    return int(lines[int(np.flatnonzero(mask)[0])])


def load_ratings(path: str | Path) -> Interactions:
    """Read ``user item rating [timestamp]`` lines; ids stay the exact strings of the file.

    Fields are separated by commas, tabs or runs of spaces (decided on the first non-empty
    line); a first line whose rating field is not a number is a header and skipped. The
    timestamp column is optional; when present it holds numbers (seconds) or dates (ISO 8601,
    turned into Unix seconds). Blank lines are skipped. An unreadable line is named by its line
    number.

    Examples
    --------
    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "log.txt")
    >>> _ = open(f, "w").write("u1 i9 5\\nu2 i9 1\\n007 i3 4\\n")
    >>> d = load_ratings(f)
    >>> d.timestamps is None, sorted(d.user_ids.tolist())
    (True, ['007', 'u1', 'u2'])
    """
    path = Path(path)
    header_line, first = _first_line(path)
    sep = "," if "," in first else ("\t" if "\t" in first else r"\s+")
    fields = [f for f in (first.split(",") if sep == "," else first.split()) if f.strip() or sep == ","]
    if len(fields) not in (3, 4):
        raise DataValidationError(f"{path.name}: line {header_line} has {len(fields)} fields; expected user item rating [timestamp]")
    has_header = not _is_number(fields[2].strip())
    more = f"has more fields than the first line ({len(fields)}: user item rating [timestamp])"
    try:
        # one spare column: a line with one field too many fills it (and is named below)
        frame = pd.read_csv(
            path, sep=sep, header=None, dtype=str, skip_blank_lines=False, keep_default_na=False, index_col=False,
            skiprows=header_line if has_header else header_line - 1, names=list(range(len(fields) + 1)),
            engine="c", skipinitialspace=True,
        )
    except pd.errors.ParserError as exc:  # pandas counts the lines of the file, skipped ones included
        found = re.search(r"line (\d+)", str(exc))
        raise DataValidationError(f"{path.name}: {'line ' + found.group(1) if found else 'a line'} {more}") from exc
    lines = np.arange(len(frame)) + (header_line + 1 if has_header else header_line)
    extra = frame.pop(len(fields)).str.strip().ne("").to_numpy()
    if extra.any():
        raise DataValidationError(f"{path.name}: line {_first_bad(extra, lines)} {more}")
    if sep == ",":  # whitespace-separated fields hold no spaces; comma-separated ones may
        for col in range(len(fields)):
            frame[col] = frame[col].str.strip()
    blank = (frame == "").all(axis=1).to_numpy()
    frame, lines = frame[~blank], lines[~blank]
    if frame.empty:
        raise DataValidationError(f"{path.name} holds no interactions")
    missing = (frame == "").any(axis=1).to_numpy()
    if missing.any():
        raise DataValidationError(f"{path.name}: line {_first_bad(missing, lines)} has fewer than {len(fields)} fields (user item rating{' timestamp' if len(fields) == 4 else ''})")
    ratings = pd.to_numeric(frame[2], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(ratings)
    if bad.any():
        raise DataValidationError(f"{path.name}: line {_first_bad(bad, lines)}: rating {frame[2].to_numpy()[bad][0]!r} is not a number")
    stamps = None
    if len(fields) == 4:
        stamps = pd.to_numeric(frame[3], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(stamps)
        if bad.any() and bad[0]:  # the first line holds a date, not seconds: dates throughout
            dates = pd.to_datetime(frame[3], errors="coerce", utc=True, format="ISO8601")
            bad = dates.isna().to_numpy()
            stamps = (dates - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(dtype=float)
        if bad.any():
            raise DataValidationError(f"{path.name}: line {_first_bad(bad, lines)}: timestamp {frame[3].to_numpy()[bad][0]!r} is neither seconds nor an ISO 8601 date")
    return from_arrays(frame[0].to_numpy(dtype=str), frame[1].to_numpy(dtype=str), ratings, stamps)


def load_interactions(path: str | Path, fmt: str = "movielens") -> Interactions:
    """Read ``path`` in format ``ratings``, ``movielens``, ``csv`` or ``parquet``."""
    if fmt == "ratings":
        return load_ratings(path)
    if fmt == "movielens":
        return load_movielens(path)
    if fmt in ("csv", "parquet"):
        return load_table(path)
    raise DataValidationError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


def load_follows(path: str | Path, interactions: Interactions) -> sp.csr_matrix:
    """A ``users x users`` follow matrix from ``follower followee`` lines (ids as in the ratings).

    Edges naming users absent from ``interactions`` are dropped (they cannot be recommended to).
    """
    path = Path(path)
    frame = pd.read_csv(path, sep=r"[\s,;]+", header=None, engine="python", usecols=[0, 1], comment="#")
    index = pd.Index(interactions.user_ids)
    src = index.get_indexer(frame[0].to_numpy())
    dst = index.get_indexer(frame[1].to_numpy())
    ok = (src >= 0) & (dst >= 0) & (src != dst)
    n = interactions.n_users
    follows = sp.csr_matrix((np.ones(int(ok.sum()), dtype=np.float32), (src[ok], dst[ok])), shape=(n, n))
    follows.data[:] = 1.0
    return follows


_POSITIVE = {"1", "true", "yes", "y", "spam", "fake", "sybil", "shill", "attack", "fraud", "bot"}
_NEGATIVE = {"0", "false", "no", "n", "ham", "real", "genuine", "benign", "legit", "human"}


def load_labels(path: str | Path, user_ids: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
    """Read ``account label`` lines (whitespace or comma separated, header optional).

    Labels: 1/0 (any non-zero number is positive), or words such as ``spam``/``real``,
    ``true``/``false``. Ids are matched to ``user_ids`` as strings, exactly as written. Returns
    one value per account of the log (1, 0, or -1 when the account is not labelled) and counts
    (``labelled``, ``positives``, ``unknown_accounts``: labelled ids absent from the log).

    Examples
    --------
    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "labels.txt")
    >>> _ = open(f, "w").write("account,label\\na,1\\nb,0\\nz,1\\n")
    >>> y, info = load_labels(f, np.array(["a", "b", "c"]))
    >>> y.tolist(), info["unknown_accounts"]
    ([1, 0, -1], 1)
    """
    path = Path(path)
    ids, values = [], []
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, start=1):
            fields = [f.strip() for f in re.split(r"[,\s]+", line.strip()) if f.strip()]
            if not fields:
                continue
            if len(fields) != 2:
                raise DataValidationError(f"{path.name}: line {number} has {len(fields)} fields; expected account label")
            word = fields[1].lower()
            if word in _POSITIVE or word in _NEGATIVE:
                values.append(int(word in _POSITIVE))
            elif _is_number(word):
                values.append(int(float(word) != 0))
            elif not ids:  # a header line
                continue
            else:
                raise DataValidationError(f"{path.name}: line {number}: label {fields[1]!r} is neither a number nor a word like spam/real")
            ids.append(fields[0])
    if not ids:
        raise DataValidationError(f"{path.name} holds no labels")
    given = pd.Series(values, index=pd.Index(ids)).groupby(level=0).last()
    index = pd.Index([str(plain_id(u)) for u in user_ids])
    y = given.reindex(index).fillna(-1).to_numpy(dtype=int)
    return y, {"labelled": int((y >= 0).sum()), "positives": int((y == 1).sum()), "unknown_accounts": int((~given.index.isin(index)).sum())}
