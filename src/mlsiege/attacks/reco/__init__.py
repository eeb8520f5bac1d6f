"""Sybil attacks on recommenders: classic profile injection, audience mimicry, social proof,
optimized injection, gradient profile optimization. Calling convention and conformance harness: :mod:`mlsiege.checks.reco`."""

from mlsiege.attacks.reco.classic import (
    average_attack_lam2004,
    bandwagon_attack_burke2005,
    random_attack_lam2004,
    segment_attack_mobasher2005,
)
from mlsiege.attacks.reco.gradient import gradient_mf_li2016
from mlsiege.attacks.reco.mimicry import audience_mimicry_tang2020
from mlsiege.attacks.reco.optimized import (
    optimized_injection_fang2018 as optimized_injection_fang2018,  # former name
)
from mlsiege.attacks.reco.optimized import white_box_surrogate_injection
from mlsiege.attacks.reco.social import engagement_pod_weerasinghe2020, follow_ring_ferrara2016

__all__ = [
    "audience_mimicry_tang2020",
    "average_attack_lam2004",
    "bandwagon_attack_burke2005",
    "engagement_pod_weerasinghe2020",
    "follow_ring_ferrara2016",
    "gradient_mf_li2016",
    "white_box_surrogate_injection",
    "random_attack_lam2004",
    "segment_attack_mobasher2005",
]

#: the public names of the CLI and scenarios, in the issue's order
ATTACK_NAMES = ("random", "average", "bandwagon", "segment", "audience-mimicry", "follow-ring", "pod", "optimized", "gradient")
