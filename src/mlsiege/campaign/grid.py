"""The campaign grid, read from YAML.

Example::

    data: d.csv            # paths are relative to the YAML file
    label: label
    schema: s.yaml
    targets:               # name: SPEC (a list of SPECs names them by file stem)
      forest: m.joblib
    attacks: [evasion_label, extraction]   # scan roles
    budgets: [200, 1000]
    seeds: [0, 1]
    trainer: sklearn.linear_model:LogisticRegression   # only for the poisoning role
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from mlsiege.errors import ConfigError
from mlsiege.scenarios.scan import ATTACK_ROLES

__all__ = ["Grid", "Task"]


@dataclass(frozen=True)
class Task:
    """One cell of the grid: a scan of one target restricted to one attack role."""

    target: str
    spec: str
    attack: str
    budget: int
    seed: int
    data: str
    label: str
    schema: str
    trainer: str | None = None

    @property
    def key(self) -> str:
        return f"{self.target}|{self.attack}|{self.budget}|{self.seed}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Grid:
    """targets x attacks x budgets x seeds over one data set and schema."""

    data: str
    label: str
    schema: str
    targets: Mapping[str, str]
    attacks: tuple[str, ...]
    budgets: tuple[int, ...]
    seeds: tuple[int, ...] = (0,)
    trainer: str | None = None
    name: str = "campaign"

    def __post_init__(self) -> None:
        if not self.targets:
            raise ConfigError("a campaign grid needs at least one target")
        bad = [a for a in self.attacks if a not in ATTACK_ROLES]
        if bad or not self.attacks:
            raise ConfigError(f"attacks must be scan roles {ATTACK_ROLES}, got {list(self.attacks)}")
        if not self.budgets or any(isinstance(b, bool) or int(b) != b or b < 1 for b in self.budgets):
            raise ConfigError(f"budgets must be positive integers, got {list(self.budgets)}")
        if not self.seeds or any(int(s) != s for s in self.seeds):
            raise ConfigError(f"seeds must be integers, got {list(self.seeds)}")
        if "poisoning" in self.attacks and not self.trainer:
            raise ConfigError("the poisoning attack needs a trainer in the grid")
        object.__setattr__(self, "targets", dict(self.targets))
        object.__setattr__(self, "attacks", tuple(self.attacks))
        object.__setattr__(self, "budgets", tuple(int(b) for b in self.budgets))
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))

    @classmethod
    def from_yaml(cls, path: str | Path) -> Grid:
        """Read a grid file; relative paths are resolved against its folder."""
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"grid file not found: {path}")
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
        if not isinstance(raw, dict):
            raise ConfigError(f"{path} must hold a mapping (data, label, schema, targets, attacks, budgets)")
        missing = [k for k in ("data", "label", "schema", "targets", "attacks", "budgets") if k not in raw]
        if missing:
            raise ConfigError(f"{path} lacks {missing}")
        unknown = set(raw) - {"data", "label", "schema", "targets", "attacks", "budgets", "seeds", "trainer", "name"}
        if unknown:
            raise ConfigError(f"{path} has unknown keys {sorted(unknown)}")
        here = path.resolve().parent

        def local(spec: str) -> str:  # files resolve against the grid; URLs and module:callable stay
            is_file = Path(spec).suffix.lower() in (".joblib", ".pkl", ".pickle", ".onnx")
            return spec if "://" in spec or (":" in spec and not is_file) else str((here / spec).resolve())

        targets = raw["targets"]
        if isinstance(targets, list):
            targets = {Path(str(t)).stem: t for t in targets}
        if not isinstance(targets, dict):
            raise ConfigError(f"{path}: targets must be a mapping name: SPEC or a list of SPECs")
        trainer = raw.get("trainer")
        return cls(
            data=str((here / raw["data"]).resolve()),
            label=str(raw["label"]),
            schema=str((here / raw["schema"]).resolve()),
            targets={str(k): local(str(v)) for k, v in targets.items()},
            attacks=tuple(_as_list(raw["attacks"])),
            budgets=tuple(_as_list(raw["budgets"])),
            seeds=tuple(_as_list(raw.get("seeds", [0]))),
            trainer=local(str(trainer)) if trainer else None,
            name=str(raw.get("name", path.stem)),
        )

    def tasks(self) -> list[Task]:
        """Every cell, in a fixed order (targets, attacks, budgets, seeds)."""
        return [
            Task(name, spec, attack, budget, seed, self.data, self.label, self.schema,
                 self.trainer if attack == "poisoning" else None)
            for (name, spec), attack, budget, seed in itertools.product(
                self.targets.items(), self.attacks, self.budgets, self.seeds)
        ]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]
