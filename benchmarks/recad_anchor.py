"""RecAD 0.0.2's shilling attacks as recipes, so the strength benchmark scores them like ours.

RecAD (Ye et al., "RecAD: Towards A Unified Library for Recommender Attack and Defense", 2023) is
the issue's named anchor. Its attackers take a rating dataset and return a dense
``fake users x items`` rating array. This module calls them from RecAD's own package on the
benchmark's training split, turns every rated cell of that array into an engagement (the rule
our loaders apply to real rows: any rating is an engagement), and hands the rows to
:func:`mlsiege.attacks.reco.evaluate.evaluate_static_attack` like any mlsiege recipe. The anchor
and our attacks then face the same victims, hold-out, targets and hit ratio.

What RecAD does differently is kept as RecAD does it. Its heuristics give each fake user one
target (the fake users are split evenly over the targets). Bandwagon and segment rate 11 and 12
"selected" items at the top of the scale. AUSH (Lin et al., CIKM 2020) trains its generator for
``epochs`` passes (RecAD's workflow default is 100) and writes every target into every profile,
with one selected item. The selected items are the most popular non-targets: RecAD's own
defaults name ML-1M ids, and the most popular items are what its bandwagon picks when it is given
none. Filler counts fill each profile to the same ``engagements_per_sybil`` our attacks get.

RecAD is GPL-3.0 and needs PyTorch: it is installed by ``pip install -e ".[bench-recad]"`` and only
ever imported here, never by the package. It writes nothing to the working directory: its data
root points into a temporary directory, and no dataset is downloaded (the rows are passed in
memory with ``download=False``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from mlsiege.attacks.reco.profiles import SybilBudget, finish

VERSION = "recad-0.0.2"
#: RecAD attacker names run by default. ``aia`` and ``aushplus`` also work (they need the
#: ``higher`` package) but took 196 s for one AIA cell at 20 epochs, too slow to run per cell.
DEFAULT_ATTACKS = ("random", "average", "bandwagon", "segment", "aush")
_SELECTED = {"bandwagon": 11, "segment": 12, "aush": 1, "aia": 1, "aushplus": 1}
_LEARNED = ("aush", "aia", "aushplus")


class AnchorUnavailable(RuntimeError):
    """RecAD (or PyTorch) is not installed."""


def _import_recad() -> tuple[Any, Any, Any, str]:
    workdir = tempfile.mkdtemp(prefix="mlsiege-recad-")
    os.environ.setdefault("RECAD_DIR", workdir)
    here = os.getcwd()
    try:
        os.chdir(workdir)
        with contextlib.redirect_stdout(sys.stderr):
            import recad.utils
            import torch
            from recad import dataset, model
    except ImportError as exc:
        raise AnchorUnavailable(f"RecAD anchor not installed ({exc}); pip install -e '.[bench-recad]'") from exc
    finally:
        os.chdir(here)
    logging.getLogger("recad").setLevel(logging.WARNING)
    recad.utils.TQDM = False  # its progress bars would flood stderr
    return torch, dataset, model, workdir


def _explicit_data(rdata: Any, interactions: sp.csr_matrix, workdir: str, device: Any) -> Any:
    """The rating rows as RecAD's explicit dataset, passed in memory (no file, no download).

    RecAD sizes the item axis from the largest id it sees; a zero-rated corner cell in the
    (unused) valid/test splits makes it match ours when the targets have no engagement yet.
    """
    coo = interactions.tocoo()
    kvr = np.c_[coo.row, coo.col, coo.data].astype(np.float64)
    corner = np.array([[interactions.shape[0] - 1, interactions.shape[1] - 1, 0.0]])
    absent = os.path.join(workdir, "absent.csv")
    return rdata.from_config(
        "explicit", "dev", path_train=absent, path_valid=absent, path_test=absent, download=False,
        train_dict=kvr, valid_dict=corner, test_dict=corner, if_cache=False, cache_dir=workdir,
        logging_level=logging.WARNING, device=device)


def _attacker_config(name: str, interactions: sp.csr_matrix, targets: np.ndarray, n_sybils: int,
                     engagements_per_sybil: int, device: Any) -> dict[str, Any]:
    """RecAD's attacker settings for our budget: its selected items are our most popular
    non-targets, and fillers fill each profile to ``engagements_per_sybil``."""
    counts = np.asarray((interactions > 0).sum(axis=0)).ravel().astype(float)
    counts[targets] = -1.0
    selected = [int(i) for i in np.argsort(-counts, kind="stable")[: _SELECTED.get(name, 0)]]
    on_target = targets.size if name in _LEARNED else 1
    config: dict[str, Any] = {"attack_num": n_sybils, "logging_level": logging.WARNING, "device": device,
                              "filler_num": engagements_per_sybil - on_target - len(selected)}
    if name in _SELECTED:
        config["selected_ids"] = selected
    return config


def recad_recipes(names: tuple[str, ...] = DEFAULT_ATTACKS, *, epochs: int = 100) -> dict[str, Callable[..., Any]]:
    """One recipe per RecAD attacker, named ``recad-<name>``; raises :class:`AnchorUnavailable`."""
    torch, rdata, rmodel, workdir = _import_recad()
    cpu = torch.device("cpu")

    def make(name: str) -> Callable[..., Any]:
        def recipe(interactions: sp.csr_matrix, *, targets: Any, n_sybils: int, engagements_per_sybil: int,
                   seed: int = 0, **_: Any) -> Any:
            started = time.perf_counter()
            budget = SybilBudget(n_sybils, engagements_per_sybil)
            targets = np.asarray(targets, dtype=np.int64)
            np.random.seed(seed)  # RecAD draws from NumPy's and torch's global generators
            torch.manual_seed(seed)
            with contextlib.redirect_stdout(sys.stderr):
                data = _explicit_data(rdata, interactions, workdir, cpu)
                config = _attacker_config(name, interactions, targets, n_sybils, engagements_per_sybil, cpu)
                attacker = rmodel.from_config("attacker", name, **config).I(dataset=data)
                target_list = [int(t) for t in targets]
                if name in _LEARNED:
                    for _ in range(epochs):
                        attacker.train_step(target_id_list=target_list)
                fake = np.asarray(attacker.generate_fake(target_id_list=target_list), dtype=np.float64)
            fake = fake[:, : interactions.shape[1]]
            rows = np.where(fake > 0, np.clip(np.round(fake), 1, 5), 0.0).astype(np.float32)
            return finish(f"{VERSION}-{name}", sp.csr_matrix(rows), targets=targets, budget=budget, config=None,
                          seed=seed, started=started, metrics={"epochs": epochs if name in _LEARNED else 0})

        return recipe

    return {f"recad-{name}": make(name) for name in names}


def recad_workflow(interactions: sp.csr_matrix, *, targets: Any, n_sybils: int, engagements_per_sybil: int,
                   attack: str = "bandwagon", victim: str = "mf", rec_epoch: int = 100, attack_epoch: int = 100,
                   seed: int = 0) -> dict[str, Any]:
    """Time RecAD's own whole run (train victim, attack, inject, retrain, evaluate) on the same split.

    This is the like-for-like speed anchor for our static run: RecAD's ``Normal`` workflow with its
    own victim (``mf`` by default, as RecAD's CLI pairs it with pointwise sampling), RecAD's CLI
    default of 100 epochs, and the attack's fake users injected as RecAD injects them (ratings
    above 4 only). Its own hit ratios are parsed from the table it prints and returned as RecAD
    computes them (over every user who has not engaged with a target, ranking all items).
    """
    torch, rdata, rmodel, workdir = _import_recad()
    import io

    from recad import workflow

    cpu = torch.device("cpu")
    np.random.seed(seed)
    torch.manual_seed(seed)
    started = time.perf_counter()
    csr = sp.csr_matrix(interactions)
    absent = os.path.join(workdir, "absent.csv")
    by_user = {u: csr.indices[csr.indptr[u]:csr.indptr[u + 1]].tolist() for u in range(csr.shape[0])}
    corner = {csr.shape[0] - 1: [csr.shape[1] - 1]}
    targets = np.asarray(targets, dtype=np.int64)
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        victim_data = rdata.from_config(
            "implicit", "dev", path_train=absent, path_valid=absent, path_test=absent, download=False,
            train_dict=by_user, valid_dict=corner, test_dict=corner, if_cache=False, cache_dir=workdir,
            sample="pointwise" if victim in ("mf", "ncf") else "pairwise", need_graph=victim == "lightgcn",
            logging_level=logging.WARNING, device=cpu)
        attack_data = _explicit_data(rdata, csr, workdir, cpu)
        config = _attacker_config(attack, csr, targets, n_sybils, engagements_per_sybil, cpu)
        run = workflow.from_config(
            "no defense", victim_data=victim_data, attack_data=attack_data,
            victim=rmodel.from_config("victim", victim, logging_level=logging.WARNING, device=cpu),
            attacker=rmodel.from_config("attacker", attack, **config),
            rec_epoch=rec_epoch, attack_epoch=attack_epoch, target_id_list=[int(t) for t in targets], topks=[10],
            cache_dir=workdir, logging_level=logging.WARNING, device=cpu)
        run.execute()
    table = captured.getvalue()
    figures = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]  # tabulate's fancy_grid
        if len(cells) == 2 and cells[0].startswith("HR@10"):
            figures["hr_at_10_attacked" if "after" in cells[0] else "hr_at_10_clean"] = float(cells[1])
    return {"anchor": VERSION, "workflow": "no defense", "victim": victim, "attack": attack, "rec_epoch": rec_epoch,
            "n_sybils": n_sybils, **figures, "seconds": time.perf_counter() - started}
