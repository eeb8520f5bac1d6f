"""The feed demo's report.html opened in headless Chromium: every plot renders offline, tables fit."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from mlsiege.scenarios.feed_demo import FeedDemoConfig, run_feed_demo

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
def test_feed_demo_report_renders_in_headless_chromium(tmp_path):
    pytest.importorskip("plotly")
    from mlsiege.report.feed_demo import write_feed_demo_html

    payload = run_feed_demo(FeedDemoConfig.small(variants=("pod", "aged"), mitigations=("cohort-caps", "caps-and-reciprocity")))
    html = write_feed_demo_html(payload, tmp_path / "report.html")
    page = html.read_text()
    n_figures = page.count('class="plotly-graph-div"')
    assert n_figures == 2  # the spread per day and the cascade through the follow graph
    dom = _chromium(tmp_path, "--dump-dom", html.as_uri()).stdout
    assert dom, "chromium printed no DOM"
    assert len(re.findall(r'class="main-svg"', dom)) >= 2 * n_figures
    assert dom.count('class="plot-container plotly"') == n_figures
    for heading in ("What to do", "The cascade through the follow graph", "Attacker variants", "ATLAS techniques"):
        assert heading in dom
    # tables fit: at a laptop width the page scrolls vertically only
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", "<script>document.title = 'W' + document.documentElement.scrollWidth;</script></body>"))
    dom = _chromium(tmp_path, "--window-size=1280,900", "--dump-dom", probe.as_uri()).stdout
    width = int(re.search(r"<title>W(\d+)</title>", dom).group(1))
    assert width <= 1280
