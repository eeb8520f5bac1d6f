"""The mlsiege gateway: a defended prediction service you deploy in front of a model (extra ``web``).

It puts the serving-time mitigations of MITRE ATLAS in one FastAPI app: access control with
hashed API keys and roles (AML.M0019), quotas and rate limits per key and per network prefix
(AML.M0004), output coarsening per key or role (AML.M0002), a durable audit log (AML.M0024), and
stateful attack detection over the query stream, per key and across keys (AML.M0015). Start it
with ``mlsiege serve``; see ``docs/gateway.md``.
"""

from mlsiege.gateway.audit import AuditLog, export_jsonl
from mlsiege.gateway.keys import ApiKey, KeyStore
from mlsiege.gateway.policy import GatewayPolicy, Limit, OutputPolicy, PrefixLimit, load_policy

__all__ = [
    "ApiKey",
    "AuditLog",
    "GatewayPolicy",
    "KeyStore",
    "Limit",
    "OutputPolicy",
    "PrefixLimit",
    "create_app",
    "export_jsonl",
    "load_policy",
]


def create_app(*args, **kwargs):  # noqa: ANN002, ANN003 - imports FastAPI only when called
    """Build the FastAPI app (see :func:`mlsiege.gateway.app.create_app`)."""
    from mlsiege.gateway.app import create_app as _create

    return _create(*args, **kwargs)
