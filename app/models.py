"""Imports every module that defines tables, so SQLModel.metadata is complete (Alembic, tests)."""

from __future__ import annotations

import importlib
import pkgutil

import app

# The SCM simulator keeps its own state and the CA clients hold no tables of the broker's.
_NOT_BROKER_TABLES = ("app.sandbox", "app.issuers")


def import_all_models() -> None:
    importlib.import_module("app.outbox")
    for module in pkgutil.walk_packages(app.__path__, prefix="app."):
        name = module.name
        if name.startswith(_NOT_BROKER_TABLES):
            continue
        if name.endswith(".models"):
            importlib.import_module(name)
