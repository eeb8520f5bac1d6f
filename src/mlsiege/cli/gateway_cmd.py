"""``mlsiege serve`` and ``mlsiege gateway keys|audit|blocks``: run and administer the gateway."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from mlsiege.cli.console import console, err_console, user_errors

keys_app_group = typer.Typer(help="Administer a gateway: API keys, audit log, blocks.", no_args_is_help=True)
keys_app = typer.Typer(help="Create, revoke and list API keys (stored hashed).", no_args_is_help=True)
audit_app = typer.Typer(help="Read the audit log.", no_args_is_help=True)
blocks_app = typer.Typer(help="Blocks and degradations decided by detection: list them, lift them.",
                         no_args_is_help=True)
keys_app_group.add_typer(keys_app, name="keys")
keys_app_group.add_typer(audit_app, name="audit")
keys_app_group.add_typer(blocks_app, name="blocks")

_AUDIT = typer.Option("sqlite:///audit.db", "--audit", help="Audit database URL (sqlite:///path or a SQLAlchemy URL).")


def serve(
    target: str = typer.Option(..., help="SPEC: model.joblib | model.onnx | module:callable"),
    schema: Path = typer.Option(..., help="Schema YAML the rows are validated against."),
    policy: Path | None = typer.Option(None, help="Policy YAML (output, limits, detection, docs)."),
    audit: str = _AUDIT,
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, min=0, max=65535, help="Port to listen on."),
    kind: str | None = typer.Option(None, help="classifier | scorer | regressor (guessed when omitted)."),
    reference: Path | None = typer.Option(
        None, help="CSV/Parquet of real rows (e.g. the training data) that detection compares queries with; "
        "without it, detection learns a reference from the traffic."),
    workers: int = typer.Option(1, min=1, max=64, help="Processes sharing the port and the database "
                                "(SIGHUP restarts them one at a time)."),
    threads: int = typer.Option(2, min=1, max=32, help="Threads per worker for model calls and detection."),
    forwarded_allow_ips: str | None = typer.Option(
        None, "--forwarded-allow-ips",
        help="Trusted proxies (comma-separated IPs or networks, '*' for any) whose X-Forwarded-For is "
             "believed. Default: none, the peer address is the client."),
    init_admin_key: bool = typer.Option(False, "--init-admin-key", help="Create an admin key and print it once."),
) -> None:
    """Serve TARGET behind the defended gateway (keys, limits, output policy, audit, detection)."""
    from mlsiege.gateway.server import build_app, run

    settings = {"target": target, "schema": str(schema), "policy": str(policy) if policy else None,
                "audit": audit, "kind": kind, "threads": threads,
                "reference": str(reference) if reference else None}
    with user_errors():
        app = build_app(**settings)
        if init_admin_key:
            secret, rec = app.state.gateway.keys.create("admin", ["admin"])
            console.print(f"admin key (shown once, stored hashed): {secret}", highlight=False)
        if workers > 1:  # built once to check every setting; each worker builds its own
            app.state.gateway.close()
            app = None
        err_console.print(f"mlsiege gateway on http://{host}:{port} (audit: {_safe(audit)}, "
                          f"{workers} worker{'s' if workers > 1 else ''})", highlight=False)
        run(app, host, port, workers=workers, settings=settings, forwarded_allow_ips=forwarded_allow_ips)


def _safe(url: str) -> str:
    from mlsiege.gateway.store import safe_url

    return safe_url(url)


def _store(audit: str):  # noqa: ANN202
    from mlsiege.gateway.keys import KeyStore
    from mlsiege.gateway.store import open_database

    return KeyStore(open_database(audit))


@keys_app.command("create")
def create(
    name: str = typer.Option(..., help="Who the key is for."),
    role: list[str] = typer.Option(["predict"], "--role", help="predict and/or admin (repeatable)."),
    output: str | None = typer.Option(None, help="Output policy of this key: scores | rounded | labels | topk."),
    audit: str = _AUDIT,
) -> None:
    """Create a key and print its secret once."""
    with user_errors():
        from mlsiege.gateway.policy import OutputPolicy

        out = {"mode": OutputPolicy(mode=output).mode} if output else None
        secret, rec = _store(audit).create(name, role, out)
    console.print(f"{secret}", highlight=False)
    err_console.print(f"key {rec.key_id} ({name}, roles {','.join(rec.roles)}): shown once, stored hashed")


@keys_app.command("revoke")
def revoke(key_id: str = typer.Argument(..., help="Id of the key (see `list`)."), audit: str = _AUDIT) -> None:
    """Revoke a key (a running gateway stops accepting it within 2 s)."""
    with user_errors():
        rec = _store(audit).revoke(key_id)
    console.print(f"revoked {rec.key_id} ({rec.name})")


@keys_app.command("list")
def list_keys(audit: str = _AUDIT, as_json: bool = typer.Option(False, "--json", help="JSON lines.")) -> None:
    """List keys (never their secrets)."""
    with user_errors():
        keys = _store(audit).list()
    if as_json:
        for k in keys:
            console.print(json.dumps(k.to_dict()), highlight=False, soft_wrap=True)
        return
    table = Table("id", "name", "roles", "output", "revoked")
    for k in keys:
        table.add_row(k.key_id, k.name, ",".join(k.roles), (k.output or {}).get("mode", "-"),
                      "yes" if k.revoked else "")
    console.print(table)


@audit_app.command("export")
def export(
    out: Path = typer.Option(..., "-o", "--out", help="JSONL file to write."),
    audit: str = _AUDIT,
    table: str = typer.Option("audit", help="audit | alerts"),
) -> None:
    """Export every audit record (or alert) as JSON lines."""
    from mlsiege.gateway.audit import export_jsonl

    with user_errors():
        n = export_jsonl(audit, out, table=table)
    err_console.print(f"{n} records written to {out}")


def _blocks(audit: str):  # noqa: ANN202
    from mlsiege.gateway.store import BlockStore, open_database

    return BlockStore(open_database(audit))


@blocks_app.command("list")
def list_blocks(
    audit: str = _AUDIT,
    as_json: bool = typer.Option(False, "--json", help="JSON lines."),
    include_lifted: bool = typer.Option(False, "--all", help="Lifted decisions too (when, by whom)."),
) -> None:
    """List detection's decisions (block, degrade, alert) per key and detector, with their evidence."""
    with user_errors():
        found = _blocks(audit).decisions(include_lifted=include_lifted)
    if as_json:
        for d in found:
            console.print(json.dumps(d, default=str), highlight=False, soft_wrap=True)
        return
    table = Table("key", "detector", "action", "audit id", "evidence", "lifted by")
    for d in found:
        table.add_row(d["key_id"], d["detector"], d["action"], str(d["audit_id"]), d["detail"] or "",
                      (d["lifted_by"] or "?") if d["lifted"] is not None else "")
    console.print(table)


@blocks_app.command("lift")
def lift_block(key_id: str = typer.Argument(..., help="Id of the key (see `list`)."), audit: str = _AUDIT) -> None:
    """Lift detection's decisions about a key (running gateways follow within a second)."""
    with user_errors():
        lifted = _blocks(audit).lift(key_id, by="cli")
    console.print(f"lifted {len(lifted)} decision(s) about {key_id}: "
                  f"{', '.join(d['detector'] + ' -> ' + d['action'] for d in lifted)}", highlight=False)
