"""Scenarios: end-to-end assessments, one module each (scan, registration, feed...).

Import a scenario from its module (``from mlsiege.scenarios.scan import run_scan``); this package
imports nothing so that each scenario only pulls in what it needs.
"""
