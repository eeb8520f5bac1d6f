"""Regenerate ``src/mlsiege/atlas/data/atlas.json`` from MITRE ATLAS's ``ATLAS.yaml``.

Run from the project root by a developer when the ATLAS release changes::

    python tools/build_atlas_catalog.py ../shared/data/atlas/ATLAS.yaml

Nothing reads the YAML at run or test time: the compact table ships inside the package with the
Apache-2.0 notice (``src/mlsiege/atlas/data/LICENSE``). The parse is defensive: in AML.M0018 and
AML.M0034 the ``ml-lifecycle`` list holds a mapping among its strings, which is moved to the
mitigation's technique uses.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

OUT = Path(__file__).resolve().parents[1] / "src" / "mlsiege" / "atlas" / "data" / "atlas.json"


def build(source: Path) -> dict:
    doc = yaml.safe_load(source.read_text())
    matrix = doc["matrices"][0]
    tactics = [{"id": t["id"], "name": t["name"]} for t in matrix["tactics"]]
    techniques = []
    for t in matrix["techniques"]:
        techniques.append({
            "id": t["id"],
            "name": t["name"],
            "tactics": list(t.get("tactics", [])),
            "parent": t.get("subtechnique-of"),
            "maturity": t.get("maturity"),
        })
    mitigations = []
    for m in matrix["mitigations"]:
        stages, extra_uses = [], []
        for s in m.get("ml-lifecycle", []) or []:
            if isinstance(s, str):
                stages.append(s)
            elif isinstance(s, dict) and "id" in s:
                extra_uses.append(s["id"])
        uses = [u["id"] for u in m.get("techniques", []) if isinstance(u, dict) and "id" in u]
        mitigations.append({
            "id": m["id"],
            "name": m["name"],
            "techniques": sorted(set(uses + extra_uses)),
            "lifecycle": stages,
            "category": list(m.get("category", []) or []),
        })
    return {
        "source": "MITRE ATLAS (mitre-atlas/atlas-data dist/ATLAS.yaml), Apache-2.0, see LICENSE",
        "version": str(doc.get("version")),
        "tactics": tactics,
        "techniques": techniques,
        "mitigations": mitigations,
    }


if __name__ == "__main__":
    src = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/atlas/ATLAS.yaml")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(build(src), indent=1, sort_keys=False) + "\n")
    print(f"wrote {OUT}")
