"""A small registration-botnet scenario: profile ordering, per-stage accounting, report, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from mlsiege.atlas import mitigation, technique
from mlsiege.errors import ConfigError
from mlsiege.lifecycle.controls import STAGES
from mlsiege.lifecycle.profiles import PROFILES, MaturityProfile, parse_profiles
from mlsiege.scenarios.registration_botnet import RegistrationBotnetConfig, run_registration_botnet
from mlsiege.scenarios.registration_pipeline import ProbeMatcher
from mlsiege.sim.registration import registration_schema

SMALL = {"n_benign": 1500, "events": 2, "accounts": 250, "probes": 500, "subnets": 50, "seed": 0}


@pytest.fixture(scope="module")
def report():
    return run_registration_botnet(RegistrationBotnetConfig(**SMALL, profiles=("low", "hardened-model", "high")))


def test_every_phony_registration_is_caught_once_or_gets_through(report):
    for name, p in report["profiles"].items():
        assert [s["stage"] for s in p["stages"]] == list(STAGES), name
        caught = sum(s["caught"] for s in p["stages"])
        assert caught + p["phony_through"] == p["phony_attempted"], name
        assert p["attacker_success_rate"] == pytest.approx(p["phony_through"] / p["phony_attempted"])
        for key in ("attacker_success_rate", "benign_rejected_rate"):
            assert 0.0 <= p[key] <= 1.0
        assert sum(r["phony_attempted"] for r in p["rounds"]) == p["phony_attempted"]
        assert p["probes_used"] <= SMALL["probes"] * SMALL["events"]


def test_profiles_are_ordered_by_maturity(report):
    p = report["profiles"]
    assert p["low"]["attacker_success_rate"] > p["high"]["attacker_success_rate"] + 0.3
    assert p["hardened-model"]["attacker_success_rate"] > p["high"]["attacker_success_rate"]
    assert p["low"]["rounds_to_detection"] is None and p["high"]["rounds_to_detection"] is not None
    assert p["low"]["poison_in_export"] > p["high"]["poison_in_export"]
    caught_late = {s["stage"]: s["caught"] for s in p["high"]["stages"]}
    assert caught_late["serve"] + caught_late["monitor"] + caught_late["reuse"] > 0


def test_report_is_json_and_names_real_atlas_ids(report, tmp_path):
    from mlsiege.report.json_report import read_json, write_json

    path = write_json(tmp_path / "report.json", report, kind="registration-botnet")
    back = read_json(path, kind="registration-botnet")
    assert set(back["profiles"]) == {"low", "hardened-model", "high"}
    for p in back["profiles"].values():
        for step in p["atlas"]:
            for t in step["techniques"]:
                technique(t)
            for m in step["mitigations"]:
                mitigation(m)


def test_same_seed_same_numbers():
    cfg = RegistrationBotnetConfig(n_benign=500, events=1, accounts=100, probes=200, subnets=20, profiles=("low",))
    a, b = run_registration_botnet(cfg), run_registration_botnet(cfg)
    assert a["profiles"] == b["profiles"]


def test_config_and_profile_errors_are_one_line():
    with pytest.raises(ConfigError, match="unknown profile"):
        RegistrationBotnetConfig(profiles=("low", "paranoid"))
    with pytest.raises(ConfigError, match="unknown scenario keys"):
        RegistrationBotnetConfig.from_mapping({"botnet_size": 3})
    with pytest.raises(ConfigError, match="cannot sit at"):
        MaturityProfile("x", (("serve", "poisoning_screen"),))
    assert [p.name for p in parse_profiles("high, low,high")] == ["high", "low"]
    assert PROFILES["high"].has("probing_detection", "serve") and not PROFILES["low"].controls


def test_probe_matcher_flags_one_feature_probing_not_benign_rows():
    schema = registration_schema()
    rng = np.random.default_rng(0)
    from mlsiege.sim.registration import make_registrations

    world = make_registrations(n_benign=1000, seed=3)
    blocked: set[int] = set()
    matcher = ProbeMatcher(schema)
    assert not matcher.observe(world.X, world.frame["subnet"].to_numpy(np.int64), blocked).any()
    base = np.repeat(world.X[:1], 6, axis=0)
    base[:, schema.index("hour_of_day")] = rng.permutation(24)[:6]
    keys = np.array([7, 8, 7, 8, 7, 8], dtype=np.int64)
    refused = matcher.observe(base, keys, blocked)
    assert {7, 8} <= blocked and refused[-1]


def test_cli_scenario_run_writes_reports(tmp_path):
    from mlsiege.cli.main import app

    out = tmp_path / "r"
    result = CliRunner().invoke(app, [
        "scenario", "run", "registration-botnet", "--profiles", "low", "--population", "500",
        "--events", "1", "--accounts", "100", "--probes", "200", "--subnets", "20", "--out", str(out), "--quiet",
    ])
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "report.json").read_text())
    assert doc["kind"] == "registration-botnet" and set(doc["profiles"]) == {"low"}
    assert (out / "report.html").stat().st_size > 10_000
    bad = CliRunner().invoke(app, ["scenario", "run", "registration-botnet", "--profiles", "nope", "--out", str(out)])
    assert bad.exit_code == 2 and "unknown profile" in bad.output


class _KnownGate:
    """An endpoint whose rules are known: it refuses headless browsers and disposable e-mail."""

    def __init__(self, schema):
        self.schema = schema
        self.rows = 0

    def probe(self, X, subnets):
        self.rows += len(X)
        s = self.schema
        refuse = (X[:, s.index("device")] == s["device"].levels.index("headless")) | (
            X[:, s.index("email_provider")] == s["email_provider"].levels.index("disposable"))
        return refuse.astype(int)


def test_botnet_recovers_a_known_gate_through_the_library_sweep():
    from mlsiege.scenarios.registration_attacker import (
        BotnetConfig,
        Infrastructure,
        ProbeChannel,
        recover_rules,
    )
    from mlsiege.targets import Budgeted

    schema = registration_schema()
    gate = _KnownGate(schema)
    infra = Infrastructure(BotnetConfig(accounts=40, probes=600, subnets=10), seed=0, schema=schema)
    oracle = Budgeted(ProbeChannel(gate, infra), 600, caller="botnet", log_io=False)
    rules = recover_rules(oracle, schema, infra, seed=0).to_dict(schema)
    assert "headless" not in rules["device"] and len(rules["device"]) == 3
    assert "disposable" not in rules["email_provider"] and len(rules["email_provider"]) == 7
    assert gate.rows == oracle.queries_used <= 600


def test_attacker_reads_the_public_form_not_the_simulator():
    import ast
    import inspect

    from mlsiege.scenarios import registration_attacker

    tree = ast.parse(inspect.getsource(registration_attacker))
    sources = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not {m for m in sources if m and m.startswith("mlsiege.sim")}, sources
    assert "mlsiege.attacks.extraction.levels" in sources and "mlsiege.attacks.evasion" in sources
