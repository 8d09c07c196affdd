"""Pydantic models and pure business rules shared by workflows and the API (no I/O)."""
