"""Workflow definitions, one module per workflow; deterministic code only."""
