"""Attacks, one package per family; each family lists its recipes in ``__all__``."""
