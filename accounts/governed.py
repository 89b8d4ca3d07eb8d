"""The base of every model whose rows belong to a workspace.

Its own module, below ``accounts.permissions``: the models say how their rows reach a workspace
(``workspace_path``), and ``accounts.permissions`` reads that to decide who sees what. The models know nothing of
the decision, so ``permissions`` imports the models and never the reverse.
"""
from __future__ import annotations

from django.db import models


class GovernedModel(models.Model):
    """Subclasses set ``workspace_path``: how a row reaches its workspace (``"data_source__workspace"``,
    ``"workspace"``, ``""`` for Workspace itself, ``None`` for organization-wide reference data)."""

    workspace_path: str | None = "workspace"

    class Meta:
        abstract = True
