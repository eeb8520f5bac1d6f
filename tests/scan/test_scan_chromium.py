"""report.html opened in headless Chromium: every plot renders offline."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from scan_fakes import RECIPES, world

from mlsiege.report.render import render_document
from mlsiege.report.rules import scan_findings
from mlsiege.scenarios.scan import ScanConfig, run_scan
from mlsiege.targets import from_estimator

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


def _chromium(tmp_path, *args):
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but /usr/bin/chromium is missing (.ci/run installs it)")
        pytest.skip("/usr/bin/chromium is absent (apt-get install -y chromium)")
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    cmd = [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=5000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)


@pytest.mark.slow
def test_report_plots_render_in_headless_chromium(tmp_path):
    X, y, schema, model, _ = world()
    from sklearn.linear_model import LogisticRegression

    out = run_scan(from_estimator(model), X, y, schema=schema, config=ScanConfig(budget=400),
                   recipes=RECIPES, trainer=LogisticRegression())
    payload = {"kind": "scan", **out.to_payload()}
    payload["findings"] = [f.to_dict() for f in scan_findings(payload)]
    rep = render_document(payload)
    html = rep.write(tmp_path / "report.html")
    assert rep.n_figures >= 4  # success vs queries, perturbations, fidelity vs queries, poisoning
    dom = _chromium(tmp_path, "--dump-dom", html.as_uri()).stdout
    assert dom, "chromium printed no DOM"
    # each rendered plotly figure holds two <svg class="main-svg"> layers; nothing fetched online
    assert len(re.findall(r'class="main-svg"', dom)) >= 2 * rep.n_figures
    assert dom.count('class="plot-container plotly"') == rep.n_figures
