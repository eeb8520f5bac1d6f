"""Synthetic worlds the scenarios play in: ``registration`` (an event's open sign-up form);
``feed`` (a social feed recommender platform: import from :mod:`mlsiege.sim.feed`)."""

from mlsiege.sim.registration import (
    RegistrationConfig,
    RegistrationWorld,
    make_registrations,
    registration_schema,
    train_detector,
)
from mlsiege.sim.registration_detector import RegistrationDetector

__all__ = [
    "RegistrationConfig",
    "RegistrationDetector",
    "RegistrationWorld",
    "make_registrations",
    "registration_schema",
    "train_detector",
]
