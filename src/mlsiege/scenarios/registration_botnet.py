"""Scenario A: a botnet against an event's open registration, across lifecycle maturity profiles.

The story, per event (round) and per profile:

1. the defender trains its detector on a past event's registrations (known bot classes labelled);
2. the botnet rents fresh proxies, probes the live endpoint within its probe budget (one-feature
   probing, fill-time bisection), recovers what is accepted, crafts constraint-valid phony
   registrations on its own accounts and submits them, spread over its subnets;
3. every registration (benign, known bots, phony) meets the profile's controls in lifecycle order;
   each phony registration is caught at exactly one stage or gets through;
4. the attendee list (what got through) is exported to a second team, which trains a no-show
   model on everything exported so far: phony registrants never show up, so the poison travels;
5. between events, controls at ``train``/``evaluate`` act (retraining on cleaned data behind a
   release gate); the attacker first re-checks its old rules and re-probes only if they fail.

:func:`run_registration_botnet` returns the ``report.json`` payload (kind ``registration-botnet``,
layout in docs/registration-scenario.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from mlsiege.errors import ConfigError
from mlsiege.lifecycle.controls import STAGES
from mlsiege.lifecycle.profiles import MaturityProfile, parse_profiles
from mlsiege.scenarios.registration_attacker import (
    BotnetConfig,
    Infrastructure,
    ProbeChannel,
    Rules,
    craft_registrations,
    recover_rules,
)
from mlsiege.scenarios.registration_defender import attendance_auc, fit_detector
from mlsiege.scenarios.registration_pipeline import (
    NOT_CAUGHT,
    Endpoint,
    attendance_screen,
    drift_monitor,
    provenance_pairs,
)
from mlsiege.sim.registration import RegistrationConfig, RegistrationWorld, make_registrations
from mlsiege.targets import Budgeted

__all__ = ["ATLAS_STEPS", "REPORT_VERSION", "RegistrationBotnetConfig", "run_registration_botnet"]

REPORT_VERSION = 1
DETECTORS = ("supervised", "iforest", "both")

#: the attack's steps, their ATLAS techniques and the lifecycle stages whose controls answer them
ATLAS_STEPS: tuple[dict[str, Any], ...] = (
    {"step": "acquire proxies and accounts", "techniques": ("AML.T0008", "AML.T0021"), "stages": ("collect",)},
    {"step": "probe the registration endpoint", "techniques": ("AML.T0040", "AML.T0024.002"),
     "stages": ("serve", "monitor")},
    {"step": "craft accepted registrations", "techniques": ("AML.T0043.001", "AML.T0015"),
     "stages": ("validate", "train", "evaluate", "serve")},
    {"step": "register phony attendees", "techniques": ("AML.T0046", "AML.T0015"),
     "stages": ("collect", "validate", "serve", "monitor")},
    {"step": "poison the reused attendee data", "techniques": ("AML.T0020", "AML.T0059", "AML.T0031"),
     "stages": ("reuse", "train")},
)


@dataclass(frozen=True)
class RegistrationBotnetConfig:
    """Every knob of the scenario (the defaults are the documented default world).

    Parameters
    ----------
    n_benign
        Benign registrations per event.
    bot_rate
        Known-bot registrations per event, as a fraction of ``n_benign``.
    events
        Events (rounds) the exploit runs over.
    accounts, probes, subnets, fresh_account_share
        The botnet's accounts (phony registrations) and probes per event, its proxy /24
        subnets, and the share of its accounts created for the attack.
    detector, anomaly
        The defender's detector (``supervised``, ``iforest`` or ``both``) and its anomaly part.
    profiles
        Maturity profiles to play, by name.
    seed
        Seed of everything.
    """

    n_benign: int = 20_000
    bot_rate: float = 0.1
    events: int = 3
    accounts: int = 2000
    probes: int = 1500
    subnets: int = 300
    fresh_account_share: float = 0.5
    detector: str = "both"
    anomaly: str = "hbos"
    benign_fpr: float = 0.01
    profiles: tuple[str, ...] = ("low", "hardened-model", "medium", "high")
    seed: int = 0

    def __post_init__(self) -> None:
        if int(self.events) != self.events or not 1 <= self.events <= 50:
            raise ConfigError(f"events must be an integer in [1, 50], got {self.events!r}")
        if self.detector not in DETECTORS:
            raise ConfigError(f"detector must be one of {DETECTORS}, got {self.detector!r}")
        object.__setattr__(self, "profiles", tuple(p.name for p in parse_profiles(list(self.profiles))))
        self.world_config(0)
        self.botnet()

    def world_config(self, event: int) -> RegistrationConfig:
        return RegistrationConfig(n_benign=self.n_benign, bot_rate=self.bot_rate, seed=self.seed * 1000 + event)

    def botnet(self) -> BotnetConfig:
        return BotnetConfig(accounts=self.accounts, probes=self.probes, subnets=self.subnets,
                            fresh_account_share=self.fresh_account_share)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> RegistrationBotnetConfig:
        """From a mapping (e.g. a YAML file's content); unknown keys are an error."""
        if not isinstance(data, Mapping):
            raise ConfigError("a scenario configuration must be a mapping of knobs")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown scenario keys {unknown}; known: {sorted(known)}")
        data = dict(data)
        if isinstance(data.get("profiles"), str):
            data["profiles"] = tuple(p.strip() for p in data["profiles"].split(",") if p.strip())
        elif "profiles" in data:
            data["profiles"] = tuple(data["profiles"])
        try:
            return cls(**data)
        except TypeError as exc:
            raise ConfigError(f"bad scenario configuration: {exc}") from exc

    @classmethod
    def from_yaml(cls, path: str | Path, **overrides: Any) -> RegistrationBotnetConfig:
        import yaml

        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"invalid YAML in {path}: {exc}") from exc
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path} must hold a mapping of scenario knobs")
        return cls.from_mapping({**data, **overrides})


@dataclass
class _Shared:
    """What every profile shares: the events, the reference event and the base detectors."""

    reference: RegistrationWorld
    events: list[RegistrationWorld]
    test_X: np.ndarray
    test_y: np.ndarray
    gate_X: np.ndarray
    allowed_pairs: set[tuple[int, str]]
    detectors: dict[bool, Any]


def _shared(cfg: RegistrationBotnetConfig, hardened_needed: bool) -> _Shared:
    reference = make_registrations(cfg.world_config(999))
    events = [make_registrations(cfg.world_config(e)) for e in range(cfg.events)]
    test = reference.sample(max(2000, cfg.n_benign // 4), "benign", seed=cfg.seed + 1)
    gate = reference.sample(max(1000, cfg.n_benign // 10), "benign", seed=cfg.seed + 2)
    clean = ~reference.is_bot
    detectors = {False: fit_detector(reference, reference.X, reference.is_bot.astype(int), kind=cfg.detector,
                                     hardened=False, seed=cfg.seed, anomaly=cfg.anomaly, benign_fpr=cfg.benign_fpr)}
    if hardened_needed:
        detectors[True] = fit_detector(reference, reference.X, reference.is_bot.astype(int), kind=cfg.detector,
                                       hardened=True, seed=cfg.seed, anomaly=cfg.anomaly, benign_fpr=cfg.benign_fpr)
    return _Shared(
        reference, events, reference.encode(test), test["attended"].to_numpy(), reference.encode(gate),
        provenance_pairs(reference.X[clean, reference.schema.index("referrer")], reference.source[clean]),
        detectors,
    )


def _phony_traffic(cfg: RegistrationBotnetConfig, world: RegistrationWorld, rules: Rules, infra: Infrastructure,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The botnet's registrations: rows, arrival times and subnets (counts per subnet-hour set)."""
    schema = world.schema
    X = craft_registrations(rules, schema, infra, cfg.accounts, rng)
    X = X[rules.usable(X, schema)]  # accounts the operator expects to be refused are held back
    days = world.config.days
    t = ((days - 1 - X[:, schema.index("days_before_event")]) * 86400.0
         + X[:, schema.index("hour_of_day")] * 3600.0 + rng.uniform(0, 3600, len(X)))
    subnets = infra.subnets_for(X, schema)
    slot = subnets.astype(np.int64) * 100_000 + (t // 3600).astype(np.int64)
    _, inverse, counts = np.unique(slot, return_inverse=True, return_counts=True)
    X[:, schema.index("subnet_regs_hour")] = counts[inverse]
    return X, t, subnets


def _play_profile(cfg: RegistrationBotnetConfig, shared: _Shared, profile: MaturityProfile,
                  progress: Callable[[str, int, int], None] | None) -> dict[str, Any]:
    schema = shared.reference.schema
    hardened = profile.has("model_hardening")
    detector = shared.detectors[hardened]
    rng = np.random.default_rng([cfg.seed, 17])
    caught = np.zeros(len(STAGES), dtype=int)
    benign_caught = np.zeros(len(STAGES), dtype=int)
    totals = {"phony": 0, "through": 0, "benign": 0, "known": 0, "known_caught": 0, "probes": 0}
    export: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    rounds: list[dict[str, Any]] = []
    detected_round = None
    rules: Rules | None = None
    endpoint: Endpoint | None = None
    for e, world in enumerate(shared.events):
        if progress:
            progress(profile.name, e, cfg.events)
        infra = Infrastructure(cfg.botnet(), seed=cfg.seed * 7919 + e, schema=schema)
        endpoint = Endpoint(profile, detector, schema, shared.allowed_pairs, seed=cfg.seed,
                            memory=endpoint if profile.has("telemetry_logging") and e else None)
        oracle = Budgeted(ProbeChannel(endpoint, infra), cfg.probes, caller="botnet", log_io=False)
        if rules is not None and cfg.probes > 0:  # re-check last event's rules before re-probing
            check = craft_registrations(rules, schema, infra, min(50, cfg.probes), rng)
            if float((oracle.predict(check) == 0).mean()) < 0.7:
                rules = None
        if rules is None:
            rules = recover_rules(oracle, schema, infra, seed=cfg.seed + e)
        X_p, t_p, sub_p = _phony_traffic(cfg, world, rules, infra, rng)
        X = np.vstack([world.X, X_p])
        t = np.concatenate([world.time, t_p])
        sources = np.concatenate([world.source, np.full(len(X_p), "web_form")])
        subnets = np.concatenate([world.frame["subnet"].to_numpy(np.int64), sub_p])
        kind = np.concatenate([np.where(world.is_bot, 1, 0), np.full(len(X_p), 2)])  # 0 benign 1 known 2 phony
        attended = np.concatenate([world.attended, np.zeros(len(X_p), dtype=int)])
        order = np.argsort(t, kind="stable")
        X, t, sources, subnets, kind, attended = X[order], t[order], sources[order], subnets[order], kind[order], attended[order]
        stage = endpoint.stages(X, sources, subnets)
        alerts = {"probing": bool(np.isin(sub_p, list(endpoint.blocked)).any())}
        day = (t // 86400).astype(np.int64)
        if profile.has("drift_monitoring"):
            open_ = np.flatnonzero(stage == NOT_CAUGHT)
            ref = shared.reference.X[~shared.reference.is_bot]
            flagged = open_[drift_monitor(schema, X[open_], day[open_], ref)]
            alerts["drift"] = bool((kind[flagged] == 2).any())
            if profile.has("human_review"):
                stage[flagged] = STAGES.index("monitor")
        if profile.has("poisoning_screen"):
            open_ = np.flatnonzero(stage == NOT_CAUGHT)
            screened = open_[attendance_screen(schema, X[open_], attended[open_])]
            stage[screened] = STAGES.index("reuse")
            alerts["poison_screen"] = bool((kind[screened] == 2).any())
        phony = kind == 2
        for s in range(len(STAGES)):
            caught[s] += int(((stage == s) & phony).sum())
            benign_caught[s] += int(((stage == s) & (kind == 0)).sum())
        through = int((phony & (stage == NOT_CAUGHT)).sum())
        totals["phony"] += int(phony.sum())
        totals["through"] += through
        totals["benign"] += int((kind == 0).sum())
        totals["known"] += int((kind == 1).sum())
        totals["known_caught"] += int(((kind == 1) & (stage != NOT_CAUGHT)).sum())
        totals["probes"] += oracle.queries_used
        keep = stage == NOT_CAUGHT
        export.append((X[keep], attended[keep], kind[keep]))
        down = _downstream(schema, export, shared, cfg.seed)
        logged = profile.has("telemetry_logging") or profile.has("drift_monitoring")
        if detected_round is None and logged and any(alerts.values()):
            detected_round = e + 1
        rounds.append({
            "event": e + 1, "phony_attempted": int(phony.sum()), "phony_through": through,
            "attacker_success_rate": through / max(1, int(phony.sum())), "probes_used": oracle.queries_used,
            "accounts_held_back": cfg.accounts - int(phony.sum()),
            "probe_accept_rate": rules.probe_accept_rate, "alerts": alerts, **down,
        })
        if profile.has("retraining_cleaned"):  # reference event plus the latest one, relabelled
            train_X = np.vstack([shared.reference.X, X])
            train_y = np.concatenate([shared.reference.is_bot.astype(int), (stage != NOT_CAUGHT).astype(int)])
            candidate = fit_detector(shared.reference, train_X, train_y, kind=cfg.detector, hardened=hardened,
                                     seed=cfg.seed + e + 1, anomaly=cfg.anomaly, benign_fpr=cfg.benign_fpr)
            gate_ok = not profile.has("model_validation") or candidate.predict(shared.gate_X).mean() <= 0.02
            if gate_ok:
                detector = candidate
    attempted = totals["phony"]
    last = rounds[-1]
    return {
        "description": profile.description,
        "controls": profile.to_dict()["stages"],
        "phony_attempted": attempted,
        "accounts_held_back": cfg.accounts * cfg.events - attempted,
        "phony_through": totals["through"],
        "attacker_success_rate": totals["through"] / max(1, attempted),
        "stages": [{"stage": s, "caught": int(caught[i]), "benign_caught": int(benign_caught[i])}
                   for i, s in enumerate(STAGES)],
        "benign_attempted": totals["benign"],
        "benign_rejected": int(benign_caught.sum()),
        "benign_rejected_rate": float(benign_caught.sum() / max(1, totals["benign"])),
        "known_bots_caught_rate": totals["known_caught"] / max(1, totals["known"]),
        "probes_used": totals["probes"],
        "downstream_metric": "roc_auc",
        "downstream_metric_clean": last["downstream_clean"],
        "downstream_metric_poisoned": last["downstream_poisoned"],
        "downstream_metric_drop": last["downstream_metric_drop"],
        "poison_in_export": last["poison_in_export"],
        "rounds_to_detection": detected_round,
        "recovered_rules": rules.to_dict(schema) if rules is not None else None,
        "atlas": _atlas(profile),
        "rounds": rounds,
    }


def _downstream(schema: Any, export: list[tuple[np.ndarray, np.ndarray, np.ndarray]], shared: _Shared,
                seed: int) -> dict[str, Any]:
    X = np.vstack([x for x, _, _ in export])
    y = np.concatenate([a for _, a, _ in export])
    kind = np.concatenate([k for _, _, k in export])
    clean = kind != 2
    poisoned_auc = attendance_auc(schema, X, y, shared.test_X, shared.test_y, seed)
    clean_auc = attendance_auc(schema, X[clean], y[clean], shared.test_X, shared.test_y, seed)
    return {
        "downstream_clean": clean_auc, "downstream_poisoned": poisoned_auc,
        "downstream_metric_drop": clean_auc - poisoned_auc,
        "poison_in_export": int((kind == 2).sum()), "export_rows": int(len(X)),
    }


def _atlas(profile: MaturityProfile) -> list[dict[str, Any]]:
    out = []
    for step in ATLAS_STEPS:
        mitigations = sorted({m for s in step["stages"] for m in profile.mitigations(s)})
        out.append({"step": step["step"], "techniques": list(step["techniques"]), "mitigations": mitigations})
    return out


def run_registration_botnet(config: RegistrationBotnetConfig | None = None,
                            progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """Play the scenario for every profile of ``config``; returns the report payload.

    ``progress(profile, event, n_events)`` is called before each event of each profile.

    References
    ----------
    Tramèr et al. (2016), "Stealing Machine Learning Models via Prediction APIs"; Li et al. (2022),
    "Blacklight"; the lifecycle framing follows MITRE ATLAS (2024) mitigations per stage.
    """
    cfg = config or RegistrationBotnetConfig()
    started = time.perf_counter()
    profiles = parse_profiles(list(cfg.profiles))
    shared = _shared(cfg, any(p.has("model_hardening") for p in profiles))
    results = {p.name: _play_profile(cfg, shared, p, progress) for p in profiles}
    det = shared.detectors[False]
    return {
        "report_version": REPORT_VERSION,
        "scenario": "registration-botnet",
        "config": asdict(cfg),
        "world": {
            "registrations_per_event": len(shared.events[0]),
            "known_bots_per_event": int(shared.events[0].is_bot.sum()),
            "phony_per_event": cfg.accounts,
            "registrations_total": int(sum(len(w) for w in shared.events) + cfg.events * cfg.accounts),
        },
        "detector": det.info,
        "stages": list(STAGES),
        "profiles": results,
        "seconds": round(time.perf_counter() - started, 2),
    }
