"""The MITRE ATLAS catalog that findings are mapped to (tactics, techniques, mitigations).

The table ships with the package (``data/atlas.json``, derived from ATLAS 5.6.0 under
Apache-2.0; see ``data/NOTICE``), so nothing is read from the network or from outside the
package at run time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from mlsiege.errors import UnknownAtlasIdError

__all__ = [
    "LIFECYCLE_STAGES",
    "all_mitigations",
    "all_techniques",
    "Mitigation",
    "Tactic",
    "Technique",
    "catalog_version",
    "mitigation",
    "mitigations_for",
    "tactic",
    "technique",
]

#: ATLAS's ``ml-lifecycle`` phases, and the mlsiege lifecycle stages that belong to each.
LIFECYCLE_STAGES: dict[str, tuple[str, ...]] = {
    "Business and Data Understanding": ("collect",),
    "Data Preparation": ("validate", "transform", "reuse"),
    "ML Model Engineering": ("train",),
    "ML Model Evaluation": ("evaluate",),
    "Deployment": ("serve",),
    "Monitoring and Maintenance": ("monitor",),
}


@dataclass(frozen=True)
class Tactic:
    id: str
    name: str


@dataclass(frozen=True)
class Technique:
    id: str
    name: str
    tactics: tuple[str, ...]
    parent: str | None
    maturity: str | None


@dataclass(frozen=True)
class Mitigation:
    id: str
    name: str
    techniques: tuple[str, ...]
    lifecycle: tuple[str, ...]
    category: tuple[str, ...]

    @property
    def stages(self) -> tuple[str, ...]:
        """mlsiege lifecycle stages where this mitigation applies."""
        return tuple(s for phase in self.lifecycle for s in LIFECYCLE_STAGES.get(phase, ()))


@lru_cache(maxsize=1)
def _load() -> dict:
    raw = json.loads(resources.files("mlsiege.atlas").joinpath("data/atlas.json").read_text())
    return {
        "version": raw["version"],
        "tactics": {t["id"]: Tactic(t["id"], t["name"]) for t in raw["tactics"]},
        "techniques": {
            t["id"]: Technique(t["id"], t["name"], tuple(t["tactics"]), t["parent"], t["maturity"])
            for t in raw["techniques"]
        },
        "mitigations": {
            m["id"]: Mitigation(m["id"], m["name"], tuple(m["techniques"]), tuple(m["lifecycle"]), tuple(m["category"]))
            for m in raw["mitigations"]
        },
    }


def _get(kind: str, id_: str):
    table = _load()[kind]
    try:
        return table[id_]
    except KeyError:
        raise UnknownAtlasIdError(
            f"{id_!r} is not an ATLAS {kind[:-1]} in catalog {catalog_version()}"
        ) from None


def catalog_version() -> str:
    """The ATLAS release the bundled table comes from."""
    return _load()["version"]


def tactic(id_: str) -> Tactic:
    """Look up a tactic (``AML.TA0007``); :class:`UnknownAtlasIdError` if absent."""
    return _get("tactics", id_)


def technique(id_: str) -> Technique:
    """Look up a technique or sub-technique (``AML.T0043``, ``AML.T0024.002``).

    Examples
    --------
    >>> technique("AML.T0043").name
    'Craft Adversarial Data'
    """
    return _get("techniques", id_)


def mitigation(id_: str) -> Mitigation:
    """Look up a mitigation (``AML.M0004``)."""
    return _get("mitigations", id_)


def mitigations_for(technique_id: str) -> list[Mitigation]:
    """Mitigations that ATLAS lists against a technique (or its parent technique)."""
    tech = technique(technique_id)
    ids = {tech.id, tech.parent} - {None}
    return [m for m in _load()["mitigations"].values() if ids & set(m.techniques)]


def all_techniques() -> list[Technique]:
    return list(_load()["techniques"].values())


def all_mitigations() -> list[Mitigation]:
    return list(_load()["mitigations"].values())
