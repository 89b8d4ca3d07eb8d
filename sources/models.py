"""Data sources: the databases Racine reads, where they are and how to reach them."""
from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from accounts.governed import GovernedModel
from accounts.models import Workspace


class DataSource(GovernedModel):
    """A database Racine scans. Its secret is stored encrypted (``sources.crypto``) and is write-only.

    What stewards say of it (description, owners, tags, terms, certification, properties) is curation, held on the
    source's asset in the catalog above (catalog.source_assets), like what they say of its tables."""

    class Engine(models.TextChoices):
        POSTGRESQL = "postgresql", "PostgreSQL"
        MYSQL = "mysql", "MySQL / MariaDB"
        SQLITE = "sqlite", "SQLite"
        SQLALCHEMY = "sqlalchemy", "Other (SQLAlchemy URL)"

    workspace_path = "workspace"
    audit_fields = ["name", "engine", "host", "port", "database", "username", "options", "openlineage_namespaces",
                    "encrypted_secret"]
    audit_redact = ["encrypted_secret"]

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="data_sources")
    name = models.CharField(max_length=200)
    engine = models.CharField(max_length=20, choices=Engine.choices)
    host = models.CharField(max_length=255, blank=True)
    port = models.PositiveIntegerField(null=True, blank=True)
    database = models.CharField(max_length=1024, blank=True,
                                help_text="Database name; for SQLite the file path; for MySQL limits the scan "
                                          "to this schema.")
    username = models.CharField(max_length=200, blank=True)
    options = models.JSONField(default=dict, blank=True,
                               help_text="Driver options from the allowed list (e.g. sslmode); for engine "
                                         "'sqlalchemy', the URL without its password.")
    encrypted_secret = models.TextField(blank=True, editable=False)
    openlineage_namespaces = models.JSONField(
        default=list, blank=True, verbose_name="OpenLineage namespaces",
        help_text="The namespaces OpenLineage events name this source's datasets in (postgres://db.example.com:5432, "
                  "snowflake://org-account). None: the one its connection settings give, where Racine can tell it.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # The table kept its name when data sources moved out of catalog: grants, audit rows and foreign keys
        # follow the content type and the table, not the app.
        db_table = "catalog_datasource"
        # By column, not by relation: ordering by "workspace" would join and sort by the workspace's own ordering
        # (its name). The unique constraint's index serves this order.
        ordering = ["workspace_id", "name"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="datasource_unique_name")]
        permissions = [("test_connection_datasource", "Can test the connection of a data source"),
                       ("view_secret_datasource", "Can read the secret of a data source")]

    def __str__(self) -> str:
        return self.name

    def validate_constraints(self, exclude=None) -> None:
        """A name already used in the workspace is an error on ``name``: Django reports a constraint over several
        fields under ``__all__``, which a form or an API client cannot put next to the field."""
        try:
            super().validate_constraints(exclude)
        except ValidationError as exc:
            errors: dict[str, list[ValidationError]] = {}
            for field, field_errors in exc.error_dict.items():
                for error in field_errors:
                    errors.setdefault("name" if error.code == "unique_together" else field, []).append(error)
            raise ValidationError(errors) from None

    @property
    def has_secret(self) -> bool:
        return bool(self.encrypted_secret)
