"""Distribution-level detection of cheap extraction, and detection shared through the database."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mlsiege.defenses.serving.distribution import (
    DistributionConfig,
    DistributionDetector,
    ReferenceModel,
    trim_isolated,
)
from mlsiege.errors import ConfigError, DataValidationError
from mlsiege.gateway.detection import DetectionService, load_reference
from mlsiege.gateway.policy import load_policy
from mlsiege.gateway.store import BlockStore, open_database
from mlsiege.schema import Feature, Schema

COV = np.array([[1, .9, .8, .5], [.9, 1, .9, .5], [.8, .9, 1, .5], [.5, .5, .5, 1]])


def world(seed: int = 0, n: int = 1500):
    rng = np.random.default_rng(seed)
    real = rng.multivariate_normal(np.zeros(4), COV, n)
    return rng, real[: n // 2], real[n // 2:]


def benign_then(det, rng, pool, attack, n_keys, benign_keys=60):
    """Benign keys (exact pool rows, with repeats) interleaved with an attack over n_keys keys."""
    flagged, first = set(), None
    for i in range(benign_keys):
        rows = pool[rng.choice(len(pool), 30)]
        flagged |= {a.key for a in det.observe(f"benign{i}", rows)}
    for i, x in enumerate(attack):
        got = det.observe(f"thief{i % n_keys}", x[None], query=i)
        if got and first is None:
            first = (i + 1, got[0].extra["test"])
        if i % 3 == 0:  # benign traffic goes on during the attack
            flagged |= {a.key for a in det.observe(f"benign{i % benign_keys}", pool[rng.choice(len(pool), 1)])}
    return {k for k in flagged if k.startswith("benign")}, first


@pytest.mark.parametrize("n_keys", [1, 12])
def test_uniform_and_noise_streams_are_flagged_and_public_rows_are_not(n_keys):
    rng, ref, pool = world()
    lo, hi = pool.min(0), pool.max(0)
    uniform = rng.uniform(lo, hi, (300, 4))
    seeds = pool[rng.choice(len(pool), 10)]
    noise = seeds[rng.integers(0, 10, 300)] + rng.normal(0, 0.01, (300, 4)) * (hi - lo)
    for attack, tests in ((uniform, {"off-distribution", "population"}), (noise, {"concentration", "population"})):
        benign, first = benign_then(DistributionDetector(ref), rng, pool, attack, n_keys)
        assert first is not None and first[0] <= 300 and first[1] in tests, first
        assert benign == set()


def test_an_attack_arriving_while_the_reference_is_learned_is_still_flagged():
    rng, _, pool = world(2)
    lo, hi = pool.min(0), pool.max(0)
    det = DistributionDetector(config=DistributionConfig(learn_rows=300, learn_keys=10))
    for i in range(11):  # 275 real rows from 11 keys: the reference is not learned yet
        assert det.observe(f"benign{i}", pool[25 * i:25 * (i + 1)]) == []
    uniform = rng.uniform(lo, hi, (300, 4))
    found = []
    for i, x in enumerate(uniform):  # its first rows complete the reference
        found += det.observe(f"thief{i % 12}", x[None], query=i)
    assert det.learned and found and {a.key for a in found} <= {f"thief{j}" for j in range(12)}
    assert det.model.n < 300  # the attack's isolated rows were trimmed from the learned reference
    clean = trim_isolated(pool[:300], 5)
    assert len(clean) >= 0.85 * 300  # real rows mostly stay


def test_reference_learned_from_traffic_and_exact_repeats_ignored():
    rng, _, pool = world(1)
    det = DistributionDetector(config=DistributionConfig(learn_rows=300, learn_keys=10))
    for i in range(40):
        assert det.observe(f"benign{i}", pool[rng.choice(len(pool), 30)]) == []
    assert det.learned and det.model is not None
    retry = rng.uniform(-4, 4, (1, 4))
    assert det.observe("retry", np.repeat(retry, 20, axis=0)) == []  # one odd row, retried 20 times
    assert det.repeats["retry"] == 19
    alerts = det.observe("thief", rng.uniform(-4, 4, (30, 4)))
    assert alerts and alerts[0].key == "thief" and alerts[0].extra["reference"] == "learned from traffic"


def test_reference_model_and_config_validate(tmp_path):
    with pytest.raises(ConfigError):
        ReferenceModel(np.zeros((3, 2)))
    with pytest.raises(ConfigError):
        DistributionConfig(quantile=1.0)
    with pytest.raises(ConfigError):
        DistributionConfig(k=1)
    schema = Schema([Feature("a", "real", -10, 10), Feature("b", "real", -10, 10)])
    (tmp_path / "r.csv").write_text("1,2\n3,4\n" * 10)  # headerless, the schema's columns
    assert load_reference(tmp_path / "r.csv", schema).shape == (20, 2)
    (tmp_path / "bad.csv").write_text("x,y,z\n1,2,3\n")
    with pytest.raises(DataValidationError, match="lacks the schema's columns"):
        load_reference(tmp_path / "bad.csv", schema)


def _feed(db, key: str, rows: list[list[float]], start: int) -> None:
    for i, r in enumerate(rows):
        db.execute("INSERT INTO audit (id, ts, key_id, client, method, path, status, rows_n, first_row, request, "
                   "response) VALUES (:id, 0, :k, NULL, 'POST', '/v1/predict', 200, 1, NULL, :req, :resp)",
                   {"id": start + i, "k": key, "req": json.dumps({"rows": [{"a": r[0], "b": r[1]}]}),
                    "resp": json.dumps({"predictions": [{"label": 0}]})})


def test_one_stream_one_leader_and_state_survives_a_restart(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    schema = Schema([Feature("a", "real", 0, 1), Feature("b", "real", 0, 1)])
    policy = load_policy({"detection": {"action": "block", "fingerprint": {"min_matches": 2}}})
    db = open_database(url)
    from mlsiege.gateway.audit import AuditLog  # creates the audit table

    AuditLog(url).close()

    def process() -> DetectionService:  # one gateway process: its block store (no cache) and detection
        return DetectionService(url, schema, policy, blocks=BlockStore(open_database(url), ttl=0.0), start=False)

    one, two = process(), process()
    probe = [[0.5 + 1e-5 * i, 0.5] for i in range(2)]
    _feed(db, "bot", probe, 1)  # one near-duplicate: one short of min_matches
    assert one.step() == 2 and two.step() == 0  # one process holds the lease and reads the feed
    one.close()  # a restart: the lease is released, the state is gone with the process
    _feed(db, "bot", [[0.5 + 3e-5, 0.5]], 3)
    two.step()  # takes over, replays the log: the second near-duplicate completes the evidence
    assert two.leader and two.blocks.is_blocked("bot")
    three = process()
    assert three.blocks.is_blocked("bot")  # every process reads the decision
    store = BlockStore(db)
    assert store.decisions()[0]["evidence"]["near_duplicates"] == 2
    assert store.decisions()[0]["audit_id"] == 3  # the record that tipped it
    store.lift("bot", by="test")  # what the CLI, the admin endpoint and Gateway.lift call
    two.step()
    assert not three.blocks.is_blocked("bot") and not two.blocks.is_blocked("bot")
    two.close()
    four = process()
    four.step()  # a restart after the lift: the forgiven rows do not block again
    assert four.leader and not four.blocks.is_blocked("bot") and store.decisions() == []
    with pytest.raises(ConfigError):
        store.lift("bot")
    three.close()
    four.close()


def test_cli_lists_and_lifts_blocks(tmp_path):
    from typer.testing import CliRunner

    from mlsiege.cli.main import app

    url = f"sqlite:///{tmp_path / 'a.db'}"
    from mlsiege.gateway.audit import AuditLog

    AuditLog(url).close()
    store = BlockStore(open_database(url))
    store.decide("k1", "distribution", "block", audit_id=7, detail="19 of 20 queries lie outside the reference data",
                 evidence={"novel": 19})
    runner = CliRunner()
    listed = runner.invoke(app, ["gateway", "blocks", "list", "--json", "--audit", url])
    assert listed.exit_code == 0 and json.loads(listed.stdout.splitlines()[0])["evidence"] == {"novel": 19}
    lifted = runner.invoke(app, ["gateway", "blocks", "lift", "k1", "--audit", url])
    assert lifted.exit_code == 0 and "lifted 1" in lifted.stdout
    assert runner.invoke(app, ["gateway", "blocks", "lift", "k1", "--audit", url]).exit_code == 2


def test_learned_reference_does_not_hold_honest_tails_to_the_trimmed_rate():
    """Heavy-tailed real rows (breast_cancer) and clients asking about distinct people: trimming
    isolated rows from a learned reference must not turn its tails into evidence."""
    from sklearn.datasets import load_breast_cancer

    rng = np.random.default_rng(0)
    X = load_breast_cancer().data[rng.permutation(569)]
    learn, rest, sd = X[:300], X[300:], X.std(axis=0)
    det = DistributionDetector(config=DistributionConfig(learn_rows=300, learn_keys=10))
    for i in range(12):
        assert det.observe(f"first{i}", learn[25 * i:25 * (i + 1)]) == []
    assert det.learned
    flagged = set()
    for i in range(60):
        rows = rest[rng.choice(len(rest), 40, replace=False)] + rng.normal(0, 0.1, (40, X.shape[1])) * sd
        flagged |= {a.key for a in det.observe(f"person{i}", rows)}
    assert len(flagged) <= 1, sorted(flagged)
    thief = rng.uniform(X.min(axis=0), X.max(axis=0), (60, X.shape[1]))
    assert det.observe("thief", thief)  # uniform rows are still caught against the learned reference


def test_detection_duty_is_checked_and_pacing_keeps_every_row(tmp_path):
    url = f"sqlite:///{tmp_path / 'd.db'}"
    schema = Schema([Feature("a", "real", 0, 1), Feature("b", "real", 0, 1)])
    policy = load_policy({"detection": {"action": "block"}})
    from mlsiege.gateway.audit import AuditLog

    AuditLog(url).close()
    with pytest.raises(ConfigError, match="duty"):
        DetectionService(url, schema, policy, duty=0.0, start=False)
    _feed(open_database(url), "k", np.random.default_rng(0).uniform(0, 1, (200, 2)).tolist(), 1)
    paced = DetectionService(url, schema, policy, duty=0.2, start=False)
    assert paced.step() == 200  # pausing between slices of work loses no row
    paced.close()
