"""Flagship B's demo: the scenario payload, its accounting, the CLI and the report page."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp
from typer.testing import CliRunner

from mlsiege.cli.main import app
from mlsiege.errors import ConfigError
from mlsiege.scenarios.feed_demo import FeedDemoConfig, _world, plan_variant, run_feed_demo
from mlsiege.scenarios.feed_mitigations import MITIGATIONS, build_view
from mlsiege.scenarios.feed_variants import VARIANTS

runner = CliRunner()


@pytest.fixture(scope="module")
def payload():
    return run_feed_demo(FeedDemoConfig.small(variants=("pod", "aged"), mitigations=("cohort-caps", "caps-and-reciprocity")))


def test_summary_holds_the_headline_figures(payload):
    s = payload["summary"]
    assert s["exposure_clean"] == 0.0  # nobody engages with the attacker's posts on the clean platform
    assert s["exposure_attacked"] > 0.05 and s["amplification"] > 0
    assert s["exposure_attacked"] == pytest.approx(np.mean([r["exposure_attacked"] for r in payload["rounds"]]))


def test_impressions_split_into_paths_and_origins_that_add_up(payload):
    for r in payload["rounds"]:
        paths = r["impressions_via_sybil_attacked"] + r["impressions_via_real_attacked"] + r["impressions_collaborative_attacked"]
        assert paths <= r["impressions_attacked"]  # a user following both a sybil and a real engager counts once, as via_real
        assert r["impressions_sybil_driven_attacked"] + r["impressions_organic_attacked"] == pytest.approx(r["impressions_attacked"])
        assert r["impressions_clean"] == 0 and r["sybil_engagements_clean"] == 0
    cascade = payload["cascade"]
    assert len(cascade["engagers"]) == payload["summary"]["real_target_engagements"]
    assert all(e["followed"] != e["user"] for e in cascade["edges"])


def test_every_mitigation_is_measured_against_every_variant(payload):
    names = [v["variant"] for v in payload["attacker_variants"]]
    assert any("aged" in n for n in names)
    for m in payload["mitigations"]:
        assert [r["variant"] for r in m["per_variant"]] == names
        for r in m["per_variant"]:
            assert 0 <= r["sybils_flagged"] <= r["sybils"] and 0 <= r["real_flagged"] <= r["real_users"]
            assert r["exposure_after"] >= 0 and r["exposure_reduction"] <= 1.0
        assert m["holds_against_all"] == all(r["exposure_reduction"] >= 0.8 and r["utility_loss"] <= 0.02 for r in m["per_variant"])
    assert payload["what_to_do"] and all(isinstance(t, str) for t in payload["what_to_do"])


def test_same_seed_same_payload():
    cfg = FeedDemoConfig.small(variants=("mimicry",), mitigations=())
    a, b = run_feed_demo(cfg), run_feed_demo(cfg)
    assert a["summary"] == b["summary"] and a["cascade"] == b["cascade"]


def test_aged_accounts_come_with_a_past():
    cfg = FeedDemoConfig.small()
    world = _world(cfg)
    plan = plan_variant(VARIANTS["aged"], initial=world.initial, targets=world.targets, audience=world.audience,
                        follows=world.pop.follows, n_sybils=world.n_sybils, engagements_per_sybil=cfg.engagements_per_sybil,
                        follows_per_sybil=cfg.follows_per_sybil, seed=0)
    h = plan.history
    assert h.times.max() < 0 and h.times.min() >= -180 * 86_400.0
    assert not np.isin(h.items, world.targets).any() and (h.follows[:, 0] >= world.pop.n_users).all()


def test_mitigation_views_keep_the_log_pattern():
    rng = np.random.default_rng(0)
    engaged = sp.random(30, 20, density=0.3, random_state=1, format="csr", dtype=np.float32)
    engaged.data[:] = 1.0
    times = engaged.copy()
    times.data = rng.random(times.nnz) * 86_400.0 * 10
    follows = sp.random(30, 30, density=0.2, random_state=2, format="csr", dtype=np.float32)
    for key in MITIGATIONS:
        view = build_view(key, n_real=25, reference=None, fpr_budget=0.05, seed=0)
        out = view(0, engaged, times, follows)
        assert out.nnz == engaged.nnz and (out.data >= 0).all() and (out.data <= 1).all()
        assert view.flagged.shape == (30,)
    with pytest.raises(ConfigError, match="unknown mitigation"):
        build_view("nope", n_real=25, reference=None, fpr_budget=0.05, seed=0)


def test_config_names_the_valid_choices():
    with pytest.raises(ConfigError, match="choose from"):
        FeedDemoConfig(variants=("pod", "botnet"))
    with pytest.raises(ConfigError, match="choose from"):
        FeedDemoConfig(mitigations=("magic",))


def test_cli_demo_feed_writes_json_and_html(tmp_path):
    pytest.importorskip("plotly")
    res = runner.invoke(app, ["demo", "feed", "--small", "--quiet", "--out", str(tmp_path / "f")])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "f" / "report.json").read_text())
    assert report["kind"] == "feed-demo" and {"exposure_clean", "exposure_attacked", "amplification"} <= set(report["summary"])
    html = (tmp_path / "f" / "report.html").read_text()
    assert "What to do" in html and "ATLAS" in html and "exposure_clean" not in html.split("<main>")[1].split("<script")[0]


def test_index_page_links_both_reports(tmp_path, payload):
    from mlsiege.report.demo_index import write_demo_index

    registration = {"profiles": {"low": {"attacker_success_rate": 0.9, "benign_rejected_rate": 0.01}}}
    page = write_demo_index(tmp_path / "index.html", registration=registration, feed=payload).read_text()
    assert 'href="registration/report.html"' in page and 'href="feed/report.html"' in page
    assert "low: attacker success 90.0%" in page
    assert f"-&gt; {payload['summary']['exposure_attacked']:.1%} (attacked)" in page


def test_cli_names_unknown_variants_in_one_line(tmp_path):
    res = runner.invoke(app, ["demo", "feed", "--small", "--quiet", "--variants", "pod,botnet", "--out", str(tmp_path / "f")])
    assert res.exit_code == 2 and "botnet" in res.output and "Traceback" not in res.output
