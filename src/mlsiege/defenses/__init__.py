"""Defenses, one package per stage: data, model, serving, reco."""
