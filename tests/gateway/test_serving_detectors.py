"""Stateful serving detectors on their own, and offline over Budgeted logs; the gateway policy."""

from __future__ import annotations

import numpy as np
import pytest

from mlsiege.defenses.serving.fingerprint import FingerprintConfig, FingerprintDetector
from mlsiege.defenses.serving.monitor import MonitorConfig, QueryMonitor, scan_log
from mlsiege.defenses.serving.prada import PradaConfig, PradaDetector
from mlsiege.errors import ConfigError
from mlsiege.gateway.limits import RateLimiter, network_prefix
from mlsiege.gateway.policy import Limit, OutputPolicy, PrefixLimit, load_policy
from mlsiege.targets import Budgeted, from_callable


def natural(rng, n, d=6):
    return rng.lognormal(0, 0.5, (n, d))


def test_prada_flags_probing_but_not_natural_queries():
    rng = np.random.default_rng(0)
    det = PradaDetector(config=PradaConfig(min_queries=20))
    benign = [k for k in range(30) if det.observe(f"user{k}", natural(rng, 40))]
    assert len(benign) <= 1
    base = natural(rng, 1)[0]
    probes = np.vstack([natural(rng, 10), base + rng.normal(0, 1e-3, (40, 6))])
    alerts = det.observe("prober", probes, query=1000)
    assert len(alerts) == 1 and alerts[0].key == "prober" and 1010 <= alerts[0].query < 1050
    assert det.observe("prober", probes) == []  # one alert per key
    assert det.statistic("prober") < 0.85


def test_fingerprint_sees_a_botnet_spread_over_keys():
    rng = np.random.default_rng(1)
    det = FingerprintDetector(6, config=FingerprintConfig(min_matches=2))
    for k in range(50):
        assert det.observe(f"user{k}", natural(rng, 5)) == []
    base = natural(rng, 1)[0]
    alerts = []
    for i in range(20):  # each bot sends one near-duplicate of the same probe
        alerts += det.observe(f"bot{i % 10}", base + rng.normal(0, 1e-4, (1, 6)), query=i)
    assert alerts and alerts[0].key.startswith("bot") and len(alerts[0].related) >= 2
    assert all(a.key.startswith("bot") for a in alerts)


def test_fingerprint_window_forgets_old_queries():
    det = FingerprintDetector(3, config=FingerprintConfig(window=5, min_matches=1))
    x = np.full((1, 3), 0.5)
    det.observe("a", x)
    for i in range(6):
        det.observe("other", np.full((1, 3), 0.1 * i + 0.01))
    assert det.observe("b", x) == []


def test_scan_log_replays_budgeted_logs_offline():
    target = from_callable(lambda X: (X[:, 0] > 0.5).astype(int))
    attacker = Budgeted(target, caller="attacker")
    user = Budgeted(target, caller="user")
    rng = np.random.default_rng(2)
    for i in range(40):
        user.predict(natural(rng, 1, 3))
        attacker.predict(np.array([[0.5 + 1e-5 * i, 0.2, 0.3]]))
    alerts = scan_log([attacker, user])
    assert {a.key for a in alerts} == {"attacker"}
    quiet = Budgeted(target, caller="q", log_io=False)
    quiet.predict(np.ones((1, 3)))
    with pytest.raises(ConfigError):
        scan_log(quiet)


def test_monitor_numbers_rows_globally_and_configs_validate():
    m = QueryMonitor(2, config=MonitorConfig(per_key=False))
    m.observe("a", np.zeros((3, 2)))
    assert m.seen == 3
    with pytest.raises(ConfigError):
        PradaConfig(threshold=1.5)
    with pytest.raises(ConfigError):
        FingerprintConfig(match=100)
    with pytest.raises(ConfigError):
        MonitorConfig.from_dict({"prada": {"nope": 1}})


def test_policy_yaml_and_errors():
    policy = load_policy("""
output: {mode: rounded, decimals: 1}
roles: {predict: {output: labels}}
keys: {vip: {output: {mode: scores}}}
limits: {per_key: {rate: 5, burst: 10}, per_prefix: {quota: 100, ipv4: 16}, max_rows: 10}
detection: {action: degrade, prada: {threshold: 0.8}}
""")
    assert policy.output_for("vip", ("predict",), None).mode == "scores"
    assert policy.output_for("x", ("predict",), None).mode == "labels"
    assert policy.output_for("x", ("admin",), None) == OutputPolicy("rounded", 1)
    assert policy.output_for("x", ("predict",), {"mode": "topk", "k": 2}).k == 2
    assert policy.monitor.prada.threshold == 0.8 and policy.action == "degrade" and policy.max_rows == 10
    for bad in ("output: {mode: everything}", "limits: {per_key: {rate: -1}}", "detection: {action: nuke}",
                "nonsense: 1", "[1, 2]", "limits: {burst: 3}"):
        with pytest.raises(ConfigError):
            load_policy(bad)


def test_rate_limiter_token_bucket_and_quota():
    now = [0.0]
    lim = RateLimiter(Limit(rate=2, burst=2, quota=5, window=60), clock=lambda: now[0])
    assert [lim.check("k") for _ in range(3)][:2] == [0.0, 0.0]
    now[0] += 0.5
    assert lim.check("k") == 0.0
    assert lim.check("k", rows=3) > 0  # quota: 3 used + 3 > 5
    now[0] += 61
    assert lim.check("k", rows=3) == 0.0
    assert network_prefix("10.1.2.3", PrefixLimit(ipv4=24)) == "10.1.2.0/24"
    assert network_prefix("2001:db8::1", PrefixLimit()) == "2001:db8::/64"
    assert network_prefix("testclient", PrefixLimit()) == "unknown"


def test_retries_and_a_shared_public_pool_are_not_matches():
    rng = np.random.default_rng(3)
    monitor = QueryMonitor(6)
    retry = natural(rng, 1)
    alerts = [a for _ in range(5) for a in monitor.observe("retry", retry)]
    alerts += monitor.observe("retry", natural(rng, 40))
    pool = natural(rng, 200)
    for k in range(50):  # every benign key sends exact rows of one public pool, some twice
        picks = rng.choice(len(pool), 30)
        alerts += monitor.observe(f"benign{k}", pool[picks])
    assert alerts == []
    fp = monitor.detectors[1]
    assert fp.repeats["retry"] == 4 and sum(fp.repeats.values()) > 100


def test_alerts_state_their_evidence():
    det = FingerprintDetector(3)
    x = np.array([[0.5, 0.5, 0.5]])
    det.observe("a", x)
    alerts = det.observe("b", np.vstack([x, x + 1e-4, x - 1e-4]))
    assert len(alerts) == 1
    evidence = alerts[0].to_dict()["evidence"]
    assert evidence["near_duplicates"] == 2 and evidence["exact_repeats_ignored"] == 1
    assert "a" in evidence["matched_keys"] and "1 exact repeats ignored" in alerts[0].detail
