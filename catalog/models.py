"""The catalog: the assets of data sources, and what the data in them means (classifications)."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.fields import DESCRIPTION_MAX_LENGTH, NOTE_MAX_LENGTH, BoundedTextField
from accounts.governed import GovernedModel
from sources.models import DataSource


class Asset(GovernedModel):
    """A database, schema, table, view or column of a data source — one table, so that classifications, tags,
    owners, terms and lineage attach to any of them. Assets are never deleted by scans: a vanished object gets
    ``removed_at``."""

    class Type(models.TextChoices):
        DATABASE = "database", "Database"
        SCHEMA = "schema", "Schema"
        TABLE = "table", "Table"
        VIEW = "view", "View"
        COLUMN = "column", "Column"

    class Sensitivity(models.TextChoices):
        PUBLIC = "public", "Public"
        INTERNAL = "internal", "Internal"
        CONFIDENTIAL = "confidential", "Confidential"
        RESTRICTED = "restricted", "Restricted"

    workspace_path = "data_source__workspace"
    audit_fields = ["description", "sensitivity"]

    data_source = models.ForeignKey(DataSource, on_delete=models.CASCADE, related_name="assets")
    type = models.CharField(max_length=10, choices=Type.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    qualified_name = models.CharField(max_length=2048)
    name = models.CharField(max_length=512)
    data_type = models.CharField(max_length=255, blank=True)
    is_nullable = models.BooleanField(null=True, blank=True)
    # NULL is "the column has no default", which a DEFAULT '' must not be mistaken for
    default = models.TextField(null=True, blank=True)  # noqa: DJ001
    source_description = models.TextField(blank=True, help_text="The comment in the source database.")
    description = BoundedTextField(blank=True, max_length=DESCRIPTION_MAX_LENGTH,
                                   help_text="The stewards' description.")
    ordinal = models.PositiveIntegerField(null=True, blank=True)
    row_count = models.BigIntegerField(null=True, blank=True, help_text="The source's estimate at the last scan.")
    properties = models.JSONField(default=dict, blank=True)
    fingerprint = models.CharField(max_length=64, blank=True,
                                   help_text="Hash of the scanned definition; a rescan writes only what changed.")
    sensitivity = models.CharField(max_length=12, choices=Sensitivity.choices, blank=True,
                                   help_text="The highest sensitivity of the classifications on it or below it.")
    profile = models.JSONField(
        default=dict, blank=True,
        help_text="Measurements of a column's last sample (rule sets with profiling): null ratio, distinct "
                  "estimate, value lengths. Never a value.")
    first_seen_at = models.DateTimeField(default=timezone.now)
    changed_at = models.DateTimeField(default=timezone.now, help_text="When a scan last saw it change.")
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The unique constraint's index serves this order, so a page reads 50 index entries instead of sorting
        # the whole visible catalog. Ordering by the relation ("data_source") would cascade to the source's and
        # the workspace's names, which no index serves.
        ordering = ["data_source_id", "qualified_name"]
        constraints = [models.UniqueConstraint(fields=["data_source", "qualified_name"],
                                               name="asset_unique_qualified_name")]
        indexes = [models.Index(fields=["data_source", "type"]), models.Index(fields=["parent"])]
        permissions = [("classify_asset", "Can classify an asset")]

    def __str__(self) -> str:
        return self.qualified_name


class AssetTypeManager(models.Manager):
    def __init__(self, asset_type: str):
        super().__init__()
        self.asset_type = asset_type

    def get_queryset(self):
        return super().get_queryset().filter(type=self.asset_type)


class Classification(GovernedModel):
    """What a kind of data means (``PII.EMAIL``), with its sensitivity. Organization-wide reference data."""

    workspace_path = None
    audit_fields = ["name", "category", "sensitivity", "description", "is_active"]

    name = models.CharField(max_length=100, unique=True)
    category = models.CharField(max_length=50)
    sensitivity = models.CharField(max_length=12, choices=Asset.Sensitivity.choices)
    description = BoundedTextField(blank=True, max_length=DESCRIPTION_MAX_LENGTH)
    is_builtin = models.BooleanField(default=False, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AssetClassification(GovernedModel):
    """A classification applied to an asset, with the evidence for it and the steward's decision.

    Evidence holds measurements and masked examples only; raw sampled values are never stored.
    """

    class Status(models.TextChoices):
        SUGGESTED = "suggested", "Suggested"
        CONFIRMED = "confirmed", "Confirmed"
        REJECTED = "rejected", "Rejected"

    class Source(models.TextChoices):
        SCAN = "scan", "Scan"
        MANUAL = "manual", "Manual"
        LINEAGE = "lineage", "Lineage"

    workspace_path = "asset__data_source__workspace"
    audit_fields = ["status", "confidence", "classification"]

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="classifications")
    classification = models.ForeignKey(Classification, on_delete=models.PROTECT, related_name="applications")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SUGGESTED)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.SCAN)
    confidence = models.FloatField(default=0.0)
    evidence = models.JSONField(default=dict, blank=True)
    evidence_fingerprint = models.CharField(
        max_length=64, blank=True,
        help_text="Summary of the evidence a decision was made on; a rejected suggestion returns only when "
                  "the evidence changes materially.")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = BoundedTextField(blank=True, max_length=NOTE_MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["asset_id", "classification_id"]  # the unique constraint's index; see Asset.Meta
        constraints = [models.UniqueConstraint(fields=["asset", "classification"],
                                               name="assetclassification_unique")]
        indexes = [models.Index(fields=["status"], condition=Q(status="suggested"), name="assetclass_suggested")]
        permissions = [("confirm_assetclassification", "Can confirm or reject a classification")]

    def __str__(self) -> str:
        return f"{self.classification} on {self.asset}"


# One proxy per asset type, so the admin lists databases, schemas, tables, views and columns on their own pages.
# Permissions stay those of Asset (accounts.permissions works on the concrete model).


class DatabaseAsset(Asset):
    objects = AssetTypeManager(Asset.Type.DATABASE)

    class Meta:
        proxy = True
        verbose_name = "database"


class SchemaAsset(Asset):
    objects = AssetTypeManager(Asset.Type.SCHEMA)

    class Meta:
        proxy = True
        verbose_name = "schema"


class TableAsset(Asset):
    objects = AssetTypeManager(Asset.Type.TABLE)

    class Meta:
        proxy = True
        verbose_name = "table"


class ViewAsset(Asset):
    objects = AssetTypeManager(Asset.Type.VIEW)

    class Meta:
        proxy = True
        verbose_name = "view"


class ColumnAsset(Asset):
    objects = AssetTypeManager(Asset.Type.COLUMN)

    class Meta:
        proxy = True
        verbose_name = "column"
