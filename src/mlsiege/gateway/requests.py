"""Checking what a client sent, before anything touches the model.

Each check raises :class:`Denied` with the HTTP status and a sentence naming the problem (the
feature, the row, the field), which the app writes to the audit log and returns.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["Denied", "parse_json", "parse_key_request", "parse_rows"]


class Denied(Exception):  # noqa: N818 - an HTTP answer, not an error of mlsiege's API
    """A request refused with ``status`` (4xx) and a one-line ``detail``."""

    def __init__(self, status: int, detail: str, *, key_id: str | None, body: bytes | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.key_id, self.body, self.headers = status, detail, key_id, body, headers


def parse_json(body: bytes, key_id: str | None, orjson: Any) -> Any:
    if not body:
        raise Denied(400, "empty body: send JSON", key_id=key_id)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Denied(400, f"malformed JSON: {exc}", key_id=key_id, body=body) from None


def _check_value(name: str, ftype: str, value: Any, row: int, key_id: str | None, body: bytes) -> None:
    if ftype == "categorical":
        ok = isinstance(value, (str, int, float)) and not isinstance(value, bool)
    elif ftype == "binary":
        ok = isinstance(value, (int, float))
    else:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok:
        kind = "null" if value is None else type(value).__name__
        raise Denied(422, f"row {row}: feature {name!r} must be a {'level' if ftype == 'categorical' else 'number'}, "
                     f"got {kind}", key_id=key_id, body=body)
    if isinstance(value, float) and not math.isfinite(value):
        raise Denied(422, f"row {row}: feature {name!r} is not finite", key_id=key_id, body=body)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        raise Denied(422, f"row {row}: feature {name!r} is too large", key_id=key_id, body=body)


def parse_rows(data: Any, schema: Any, max_rows: int, key_id: str | None, body: bytes) -> list[dict[str, Any]]:
    """The rows of a ``{"rows": [...]}`` body, each with exactly the schema's features."""
    if not isinstance(data, dict) or "rows" not in data:
        raise Denied(422, 'the body must be an object {"rows": [{feature: value, ...}, ...]}',
                     key_id=key_id, body=body)
    extra = sorted(set(data) - {"rows"})
    if extra:
        raise Denied(422, f"unknown field(s) {extra}; only 'rows' is read", key_id=key_id, body=body)
    rows = data["rows"]
    if isinstance(rows, dict):
        rows = [rows]
    if not isinstance(rows, list) or not rows:
        raise Denied(422, "'rows' must be a non-empty list of objects", key_id=key_id, body=body)
    if len(rows) > max_rows:
        raise Denied(422, f"{len(rows)} rows exceed the limit of {max_rows} per request", key_id=key_id, body=body)
    names = schema.names
    wanted = set(names)
    types = [(f.name, f.type) for f in schema.features]
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise Denied(422, f"row {i} is a {type(row).__name__}, not an object", key_id=key_id, body=body)
        if len(row) != len(wanted) or row.keys() != wanted:
            missing = [n for n in names if n not in row]
            unknown = sorted(set(row) - wanted)
            parts = ([f"missing feature(s) {missing}"] if missing else []) + (
                [f"unknown feature(s) {unknown}"] if unknown else [])
            raise Denied(422, f"row {i}: " + "; ".join(parts), key_id=key_id, body=body)
        for name, ftype in types:
            _check_value(name, ftype, row[name], i, key_id, body)
    return rows


def parse_key_request(data: Any, key_id: str | None, body: bytes) -> tuple[str, list[str], dict[str, Any] | None]:
    """``(name, roles, output)`` of a key-creation body."""
    from mlsiege.errors import ConfigError
    from mlsiege.gateway.keys import ROLES
    from mlsiege.gateway.policy import OutputPolicy

    if not isinstance(data, dict):
        raise Denied(422, 'the body must be an object {"name": ..., "roles": [...]}', key_id=key_id, body=body)
    unknown = sorted(set(data) - {"name", "roles", "output"})
    if unknown:
        raise Denied(422, f"unknown field(s) {unknown}", key_id=key_id, body=body)
    name = data.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 200:
        raise Denied(422, "'name' must be a string of 1 to 200 characters", key_id=key_id, body=body)
    roles = data.get("roles", ["predict"])
    if not isinstance(roles, list) or not roles or any(r not in ROLES for r in roles):
        raise Denied(422, f"'roles' must be a non-empty list among {list(ROLES)}", key_id=key_id, body=body)
    output = data.get("output")
    if "output" in data:
        if not isinstance(output, dict):
            raise Denied(422, "'output' must be an object like {\"mode\": \"labels\"}", key_id=key_id, body=body)
        try:
            OutputPolicy.from_dict(output)
        except ConfigError as exc:
            raise Denied(422, str(exc), key_id=key_id, body=body) from None
    return name, roles, output
