"""The FastAPI application: authentication, limits, validation, prediction, audit, alerts.

Every answer but ``GET /v1/health`` is written to the audit log before it is sent. The key is
checked before the body is read, so an unauthenticated caller gets ``401`` whatever it sends.
Client mistakes get a 4xx naming the problem; a ``5xx`` only ever means the server itself failed
(the model raised, the audit database is gone): its body is a fixed sentence and an ``error_id``,
never SQL, parameters or another key's data; the details go to the server log under that id.
"""


import asyncio
import contextlib
import logging
import math
import secrets
import time
from typing import Any

from mlsiege.defenses.serving.alerts import Alert
from mlsiege.errors import ConfigError, StoreError
from mlsiege.extras import require
from mlsiege.gateway.audit import AuditLog
from mlsiege.gateway.detection import DetectionService
from mlsiege.gateway.engine import Engine, Outcome, alert_record
from mlsiege.gateway.keys import ApiKey, KeyStore
from mlsiege.gateway.limits import RateLimiter, network_prefix
from mlsiege.gateway.policy import GatewayPolicy, OutputPolicy
from mlsiege.gateway.requests import Denied, parse_json, parse_key_request, parse_rows
from mlsiege.gateway.store import BlockStore, open_database

__all__ = ["Gateway", "create_app"]

log = logging.getLogger("mlsiege.gateway")

#: the largest id or cursor a client may send (a signed 64-bit integer, what the database holds)
MAX_ID = 2**63 - 1


class Gateway:
    """The state behind the app: keys, limits, engine, audit, blocks, detection. Built by :func:`create_app`.

    ``reference`` (real rows in attack space) anchors the distribution tests of detection;
    ``threads`` answer the model calls off the event loop.
    """

    def __init__(self, target: Any, schema: Any, policy: GatewayPolicy, audit_url: str, *,
                 threads: int = 2, reference: Any = None) -> None:
        self.schema, self.policy = schema, policy
        self.audit = AuditLog(audit_url)
        db = open_database(audit_url)
        self.keys = KeyStore(db)
        self.blocks = BlockStore(db)
        self.key_limits = RateLimiter(policy.per_key)
        self.prefix_limits = RateLimiter(policy.per_prefix)
        self.engine = Engine(target, schema, policy, on_batch=self._answered, threads=threads, blocks=self.blocks)
        self.detection = (DetectionService(audit_url, schema, policy, blocks=self.blocks, reference=reference,
                                           on_alert=self._on_alert) if policy.detection else None)
        self.started = time.time()
        self._dumps = require("orjson", extra="web").dumps
        self._closed = False

    def lift(self, key_id: str, *, by: str = "") -> list[dict[str, Any]]:
        """Lift detection's decisions about ``key_id`` in every process; the decisions lifted.

        :meth:`BlockStore.lift <mlsiege.gateway.store.BlockStore.lift>` does it (as for the CLI);
        this process's detection, if it leads, forgets the key's rows at once. Raises
        :class:`~mlsiege.errors.ConfigError` when nothing stands for the key.
        """
        lifted = self.blocks.lift(key_id, by=by)
        if self.detection is not None:
            self.detection.refresh()
        return lifted

    def _answered(self, jobs: list[Any], outcomes: list[Outcome]) -> None:
        """Audit a whole answered batch in one hand-off; wake the loop once when it is committed."""
        records, waiting = [], []
        for job, out in zip(jobs, outcomes, strict=True):
            fut, record = job.context
            data = self._dumps(out.body)
            record.update(status=out.status, response=data.decode())
            records.append(record)
            waiting.append((fut, out, data))
        loop = waiting[0][0].get_loop()

        def committed(ids: list[int] | None, error: BaseException | None) -> None:
            loop.call_soon_threadsafe(_settle_many, waiting, ids, error)
            if self.detection is not None:
                self.detection.poke()

        self.audit.append_many(records, committed)

    def _on_alert(self, alert: Alert, action: str, audit_id: int | None = None) -> None:
        self.audit.alert(alert_record(alert, action, audit_id))

    def close(self) -> None:
        """Stop detection (releasing its lease), answer what is queued and commit it."""
        if self._closed:
            return
        self._closed = True
        if self.detection is not None:
            self.detection.close()
        self.engine.close()
        self.audit.close()
        self.keys.db.close()

    # ----------------------------------------------------------------- helpers
    def authenticate(self, headers: Any, role: str | None) -> ApiKey:
        """The key of a request with ``role`` (any live key when ``role`` is ``None``), else :class:`Denied`."""
        secret = headers.get("x-api-key")
        if secret is None:
            auth = headers.get("authorization", "")
            if auth[:7].lower() == "bearer ":
                secret = auth[7:].strip()
        if not secret:
            raise Denied(401, "missing API key: send it in the X-API-Key header", key_id=None,
                         headers={"WWW-Authenticate": "ApiKey"})
        key = self.keys.authenticate(secret)
        if key is None:
            raise Denied(401, "unknown or revoked API key", key_id=None, headers={"WWW-Authenticate": "ApiKey"})
        if role is not None and role not in key.roles:
            raise Denied(403, f"this key lacks the {role!r} role", key_id=key.key_id)
        if self.engine.is_blocked(key.key_id):
            raise Denied(403, "this key is blocked by attack detection", key_id=key.key_id)
        return key

    def limit(self, key: ApiKey, client: str | None, rows: int) -> None:
        for limiter, name, what in ((self.key_limits, key.key_id, "key"),
                                    (self.prefix_limits, network_prefix(client, self.policy.per_prefix), "network")):
            wait = limiter.check(name, rows)
            if wait > 0:
                raise Denied(429, f"rate limit or quota of this {what} reached; retry in {wait:.3g} s",
                             key_id=key.key_id, headers={"Retry-After": str(max(1, math.ceil(wait)))})

    def output_for(self, key: ApiKey) -> OutputPolicy:
        return self.policy.output_for(key.name, key.roles, key.output)


def _record(request: Any, key_id: str | None, status: int, *, rows: int = 0,
            body: bytes | None = None, answer: bytes | None = None) -> dict[str, Any]:
    client = request.client.host if request.client else None
    return {"ts": time.time(), "key_id": key_id, "client": client, "method": request.method,
            "path": request.url.path, "status": status, "rows_n": rows, "first_row": None,
            "request": body.decode("utf-8", "replace") if body is not None else None,
            "response": answer.decode("utf-8", "replace") if answer is not None else None}


def server_error(what: str, exc: BaseException | None = None) -> tuple[dict[str, str], str]:
    """A 5xx body: a fixed sentence and a fresh error id; the details are logged under that id."""
    error_id = secrets.token_hex(8)
    log.error("error %s: %s", error_id, what, exc_info=exc)
    return {"detail": what, "error_id": error_id}, error_id


def create_app(target: Any, schema: Any, *, policy: GatewayPolicy | None = None,
               audit: str = "sqlite:///audit.db", threads: int = 2, reference: Any = None) -> Any:
    """Build the gateway app around a loaded target and its schema.

    ``app.state.gateway`` holds the :class:`Gateway`; it is closed on shutdown. ``threads``
    answer the model calls off the event loop. ``reference`` (real rows in attack space, e.g.
    the training data) anchors the distribution tests of detection; without it they learn a
    reference from the traffic.
    """
    fastapi = require("fastapi", extra="web")
    responses = require("fastapi.responses", extra="web")
    orjson = require("orjson", extra="web")
    if schema is None:
        raise ConfigError("the gateway needs the schema the rows are validated against")
    policy = policy or GatewayPolicy()
    gw = Gateway(target, schema, policy, audit, threads=threads, reference=reference)
    Response = responses.Response
    Request = fastapi.Request

    def unavailable(what: str, exc: BaseException | None) -> Any:
        body, _ = server_error(what, exc)
        return Response(orjson.dumps(body), 503, media_type="application/json", headers={"Retry-After": "1"})

    async def finish(request: Any, key_id: str | None, status: int, payload: dict[str, Any], *,
                     body: bytes | None = None, headers: dict[str, str] | None = None,
                     redacted: dict[str, Any] | None = None) -> Any:
        data = orjson.dumps(payload)
        stored = orjson.dumps(redacted) if redacted is not None else data
        fut = gw.audit.append(_record(request, key_id, status, body=body, answer=stored))
        try:
            audit_id = await asyncio.wrap_future(fut)
        except Exception as exc:
            return unavailable("the audit log is unavailable; the request was not served", exc)
        return Response(data, status, headers={**(headers or {}), "X-Audit-Id": str(audit_id)},
                        media_type="application/json")

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> Any:
        yield
        gw.close()

    public_docs = policy.docs == "public"
    app = fastapi.FastAPI(
        lifespan=lifespan,
        docs_url="/docs" if public_docs else None,
        redoc_url="/redoc" if public_docs else None,
        openapi_url="/openapi.json" if public_docs else None,
        title="mlsiege gateway",
        version="1",
        description="A defended prediction service: API keys and roles, quotas and rate limits, "
        "output policy, durable audit log, stateful attack detection (per key and across keys).",
    )
    app.state.gateway = gw

    @app.exception_handler(Denied)
    async def denied(request: Any, exc: Denied) -> Any:
        return await finish(request, exc.key_id, exc.status, {"detail": exc.detail},
                            body=exc.body, headers=exc.headers)

    @app.exception_handler(StoreError)
    async def store_failed(request: Any, exc: StoreError) -> Any:
        return unavailable("the gateway database is unavailable", exc)

    @app.exception_handler(Exception)
    async def crashed(request: Any, exc: Exception) -> Any:  # a bug of ours: said without details
        body, _ = server_error("internal error", exc)
        return Response(orjson.dumps(body), 500, media_type="application/json")

    if policy.docs == "key":
        @app.get("/openapi.json", include_in_schema=False)
        async def openapi(request: Request) -> Any:
            gw.authenticate(request.headers, None)
            return app.openapi()

    def auth(role: str) -> Any:
        def dependency(request: Request) -> ApiKey:
            return gw.authenticate(request.headers, role)
        return fastapi.Depends(dependency)

    @app.get("/v1/health", tags=["service"], summary="Liveness (no key needed)")
    async def health() -> dict[str, Any]:
        return {"status": "ok" if gw.audit.error is None else "audit-failing",
                "model": gw.engine.kind, "features": schema.n_features,
                "uptime_s": round(time.time() - gw.started, 3)}

    @app.post("/v1/predict", tags=["prediction"], summary="Predict one row or a batch",
              openapi_extra=_PREDICT_DOC(schema, policy.max_rows), responses=_ERRORS)
    async def predict(request: Request) -> Any:
        key = gw.authenticate(request.headers, "predict")
        body = await _read(request, policy.max_body_bytes, key.key_id)

        def parse() -> list[dict[str, Any]]:
            return parse_rows(parse_json(body, key.key_id, orjson), schema, policy.max_rows, key.key_id, body)

        # a large batch is checked on a thread: tens of milliseconds on the loop would stall every client
        rows = parse() if len(body) < _PARSE_INLINE_BYTES else await asyncio.to_thread(parse)
        gw.limit(key, request.client.host if request.client else None, len(rows))
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        record = _record(request, key.key_id, 0, rows=len(rows), body=body)
        gw.engine.submit(key.key_id, rows, gw.output_for(key), (fut, record))
        out, data, audit_id, error = await fut
        if error is not None:
            return unavailable("the audit log is unavailable; the request was not served", error)
        return Response(data, out.status, headers={"X-Audit-Id": str(audit_id)}, media_type="application/json")

    @app.get("/v1/alerts", tags=["detection"], summary="Alerts raised by attack detection (admin)",
             responses=_ERRORS)
    async def alerts(request: Request, after: int = fastapi.Query(0, ge=0, le=MAX_ID), limit: int = fastapi.Query(100, ge=1, le=10000),
                     key: ApiKey = auth("admin")) -> Any:
        found = await asyncio.to_thread(gw.audit.alerts, after=after, limit=limit)
        return await finish(request, key.key_id, 200, {"alerts": found}, redacted={"alerts": len(found)})

    @app.get("/v1/admin/blocks", tags=["admin"], summary="Blocks and degradations by detection, with evidence",
             responses=_ERRORS)
    async def list_blocks(request: Request, key: ApiKey = auth("admin")) -> Any:
        found = await asyncio.to_thread(gw.blocks.decisions)
        return await finish(request, key.key_id, 200, {"blocks": found}, redacted={"blocks": len(found)})

    @app.delete("/v1/admin/blocks/{key_id}", tags=["admin"], summary="Lift detection's decisions about a key",
                responses={**_ERRORS, 404: {"description": "No block or degradation stands for this key"}})
    async def lift_block(request: Request, key_id: str, key: ApiKey = auth("admin")) -> Any:
        try:
            lifted = await asyncio.to_thread(lambda: gw.lift(key_id, by=key.key_id))
        except ConfigError as exc:
            raise Denied(404, str(exc), key_id=key.key_id) from None
        return await finish(request, key.key_id, 200, {"lifted": lifted})

    @app.post("/v1/admin/keys", tags=["admin"], summary="Create an API key (shown once)",
              openapi_extra=_KEY_DOC, responses=_ERRORS, status_code=201)
    async def create_key(request: Request) -> Any:
        admin = gw.authenticate(request.headers, "admin")
        body = await _read(request, 65536, admin.key_id)
        name, roles, output = parse_key_request(parse_json(body, admin.key_id, orjson), admin.key_id, body)
        secret, rec = await asyncio.to_thread(gw.keys.create, name, roles, output)
        return await finish(request, admin.key_id, 201, {"key": secret, **rec.to_dict()}, body=body,
                            redacted=rec.to_dict())

    @app.get("/v1/admin/keys", tags=["admin"], summary="List API keys", responses=_ERRORS)
    async def list_keys(request: Request, key: ApiKey = auth("admin")) -> Any:
        found = [k.to_dict() for k in await asyncio.to_thread(gw.keys.list)]
        return await finish(request, key.key_id, 200, {"keys": found}, redacted={"keys": len(found)})

    @app.delete("/v1/admin/keys/{key_id}", tags=["admin"], summary="Revoke an API key",
                responses={**_ERRORS, 404: {"description": "No key with this id"}})
    async def revoke_key(request: Request, key_id: str, key: ApiKey = auth("admin")) -> Any:
        try:
            rec = await asyncio.to_thread(gw.keys.revoke, key_id)
        except ConfigError as exc:
            raise Denied(404, str(exc), key_id=key.key_id) from None
        return await finish(request, key.key_id, 200, {"revoked": rec.to_dict()})

    @app.get("/v1/admin/audit", tags=["admin"], summary="Read audit records", responses=_ERRORS)
    async def read_audit(request: Request, after: int = fastapi.Query(0, ge=0, le=MAX_ID), limit: int = fastapi.Query(100, ge=1, le=10000),
                         key_id: str | None = None, key: ApiKey = auth("admin")) -> Any:
        found = await asyncio.to_thread(gw.audit.records, after=after, limit=limit, key_id=key_id)
        return await finish(request, key.key_id, 200, {"records": found}, redacted={"records": len(found)})

    return app


def _settle_many(waiting: list[Any], ids: list[int] | None, error: BaseException | None) -> None:
    for i, (fut, out, data) in enumerate(waiting):
        if not fut.done():
            fut.set_result((out, data, None if ids is None else ids[i], error))


async def _read(request: Any, limit: int, key_id: str | None) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise Denied(400, "bad Content-Length header", key_id=key_id)
        if int(declared) > limit:
            raise Denied(413, f"payload of {declared} bytes exceeds the limit of {limit}", key_id=key_id)
        return await request.body()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Denied(413, f"payload exceeds the limit of {limit} bytes", key_id=key_id)
        chunks.append(chunk)
    return b"".join(chunks)


#: bodies up to this size are parsed on the event loop (faster than a thread hand-off)
_PARSE_INLINE_BYTES = 16384

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed JSON or request"},
    401: {"description": "Missing, unknown or revoked API key"},
    403: {"description": "The key lacks the role, or is blocked by attack detection"},
    413: {"description": "Payload too large"},
    422: {"description": "Wrong types, too many rows or schema violation (names the feature)"},
    429: {"description": "Rate limit or quota reached (see Retry-After)"},
    503: {"description": "The database or the model is unavailable (body: detail and error_id)"},
}

_KEY_DOC = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["name"], "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 200},
            "roles": {"type": "array", "minItems": 1, "items": {"type": "string", "enum": ["predict", "admin"]}},
            "output": {"type": "object", "additionalProperties": False, "properties": {
                "mode": {"type": "string", "enum": ["scores", "rounded", "labels", "topk"]},
                "decimals": {"type": "integer", "minimum": 0, "maximum": 12},
                "k": {"type": "integer", "minimum": 1}}},
        }}}}},
    "security": [{"ApiKey": []}],
}


def _PREDICT_DOC(schema: Any, max_rows: int) -> dict[str, Any]:  # noqa: N802 - reads as a constant
    props: dict[str, Any] = {}
    for f in schema.features:
        if f.type == "categorical":
            props[f.name] = {"enum": list(f.levels or [])}
        else:
            spec: dict[str, Any] = {"type": "integer" if f.type in ("integer", "binary") else "number"}
            if f.lower is not None and math.isfinite(f.lower):
                spec["minimum"] = f.lower
            if f.upper is not None and math.isfinite(f.upper):
                spec["maximum"] = f.upper
            props[f.name] = spec
    row = {"type": "object", "properties": props, "required": list(schema.names), "additionalProperties": False}
    return {
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["rows"], "additionalProperties": False,
            "properties": {"rows": {"type": "array", "items": row, "minItems": 1, "maxItems": max_rows}}}}}},
        "security": [{"ApiKey": []}],
    }
