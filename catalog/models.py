"""The catalog: the assets of data sources, and what the data in them means (classifications)."""
from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
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


# --- curation: what stewards say about assets (catalog.curation) ------------------------------------------------
# Tags and glossary terms belong to a workspace, like the data sources whose assets they describe: the permission
# model scopes every write by workspace, so an organization-wide glossary would let any workspace's steward rewrite
# every term, and a tag's or term's name can itself say something confidential ("Project Falcon acquisition").


class Tag(GovernedModel):
    """A label stewards put on assets of their workspace."""

    workspace_path = "workspace"
    audit_fields = ["name", "description"]

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=100)
    description = BoundedTextField(blank=True, max_length=DESCRIPTION_MAX_LENGTH)
    assets = models.ManyToManyField(Asset, through="AssetTag", related_name="tags", blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["workspace_id", "name"]  # the unique constraint's index
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="tag_unique_name")]

    def __str__(self) -> str:
        return self.name


class AssetTag(GovernedModel):
    """A tag on an asset, with who put it there."""

    workspace_path = "asset__data_source__workspace"

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="tag_links")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="asset_links")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    added_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["asset_id", "tag_id"]
        constraints = [models.UniqueConstraint(fields=["asset", "tag"], name="assettag_unique")]
        indexes = [models.Index(fields=["tag"], name="assettag_tag")]

    def __str__(self) -> str:
        return f"{self.tag} on {self.asset}"


class AssetOwner(GovernedModel):
    """Who answers for an asset, and in which capacity: a user or a group (exactly one), as its technical or
    business owner or its steward. An owner may curate the asset (catalog.curation grants it ``change`` on it)."""

    class OwnerType(models.TextChoices):
        TECHNICAL = "technical", "Technical owner"
        BUSINESS = "business", "Business owner"
        STEWARD = "steward", "Steward"

    workspace_path = "asset__data_source__workspace"

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="owners")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="owned_assets")
    group = models.ForeignKey("auth.Group", null=True, blank=True, on_delete=models.CASCADE,
                              related_name="owned_assets")
    owner_type = models.CharField(max_length=10, choices=OwnerType.choices)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    added_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["asset_id", "owner_type", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(user__isnull=False, group__isnull=True)
                                   | Q(user__isnull=True, group__isnull=False), name="assetowner_user_or_group"),
            models.UniqueConstraint(fields=["asset", "user", "owner_type"], condition=Q(user__isnull=False),
                                    name="assetowner_unique_user"),
            models.UniqueConstraint(fields=["asset", "group", "owner_type"], condition=Q(group__isnull=False),
                                    name="assetowner_unique_group"),
        ]

    def __str__(self) -> str:
        return f"{self.user or self.group} ({self.get_owner_type_display()}) of {self.asset}"

    @property
    def principal(self):
        return self.user or self.group


class AssetCertification(GovernedModel):
    """A steward's word on whether an asset is the one to use (certified) or not any more (deprecated), with who
    said it, when, and until when. At most one per asset; the expiry task ends it once ``expires_at`` passes."""

    class Status(models.TextChoices):
        CERTIFIED = "certified", "Certified"
        DEPRECATED = "deprecated", "Deprecated"

    workspace_path = "asset__data_source__workspace"
    audit_fields = ["status", "note", "expires_at"]

    asset = models.OneToOneField(Asset, on_delete=models.CASCADE, related_name="certification")
    status = models.CharField(max_length=10, choices=Status.choices)
    note = BoundedTextField(blank=True, max_length=NOTE_MAX_LENGTH)
    certified_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    certified_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["asset_id"]

    def __str__(self) -> str:
        return f"{self.get_status_display()}: {self.asset}"


class GlossaryTerm(GovernedModel):
    """What a business word means in a workspace, where it sits among other terms, and which assets it describes.

    A term may imply a classification ("Customer e-mail" → PII.EMAIL): linking it to a column also confirms that
    classification on the column (catalog.glossary)."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        APPROVED = "approved", "Approved"
        DEPRECATED = "deprecated", "Deprecated"

    workspace_path = "workspace"
    audit_fields = ["name", "definition", "synonyms", "abbreviations", "parent", "status", "classification"]

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="glossary_terms")
    name = models.CharField(max_length=200)
    definition = BoundedTextField(blank=True, max_length=DESCRIPTION_MAX_LENGTH)
    synonyms = models.JSONField(default=list, blank=True)
    abbreviations = models.JSONField(default=list, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    related_terms = models.ManyToManyField("self", blank=True, symmetrical=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    stewards = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="glossary_terms")
    classification = models.ForeignKey(Classification, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="glossary_terms",
                                       help_text="The classification a column linked to this term carries.")
    assets = models.ManyToManyField(Asset, through="GlossaryTermAsset", related_name="glossary_terms", blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["workspace_id", "name"]  # the unique constraint's index
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="glossaryterm_unique_name")]

    def __str__(self) -> str:
        return self.name


class GlossaryTermAsset(GovernedModel):
    """A glossary term linked to an asset, with who linked it. ``asset_classification`` is the classification the
    link confirmed (the term's, on a column), kept so that the link says what it did."""

    workspace_path = "asset__data_source__workspace"

    term = models.ForeignKey(GlossaryTerm, on_delete=models.CASCADE, related_name="asset_links")
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="term_links")
    asset_classification = models.ForeignKey(AssetClassification, null=True, blank=True,
                                             on_delete=models.SET_NULL, related_name="+")
    linked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    linked_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["asset_id", "term_id"]
        constraints = [models.UniqueConstraint(fields=["term", "asset"], name="glossarytermasset_unique")]
        indexes = [models.Index(fields=["asset"], name="glossarytermasset_asset")]

    def __str__(self) -> str:
        return f"{self.term} on {self.asset}"


# --- search (catalog.search) ---------------------------------------------------------------------------------------
# Derived data, rebuilt from the rows above: not governed (reads join them to what the user may see through
# accounts.permissions.visible_sql), not audited, written only by catalog.search.


class AssetSearchDocument(models.Model):
    """What search matches of one present asset: the words of its name, the schema it sits in (a facet), and on
    PostgreSQL a weighted ``tsvector`` (A name, B glossary terms and synonyms, C qualified name, tags,
    classifications and owners, D descriptions). SQLite keeps the weighted text in an FTS5 table instead."""

    asset = models.OneToOneField(Asset, primary_key=True, on_delete=models.CASCADE, related_name="search_document")
    schema = models.ForeignKey(Asset, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                               db_constraint=False, db_index=False)
    name_words = models.TextField()
    document = SearchVectorField(null=True)

    def __str__(self) -> str:
        return self.name_words


class SearchWord(models.Model):
    """A word of the catalog's names, terms and labels: where a misspelt query word looks for its corrections.
    Only ever added to (a stale word corrects to nothing); ``manage.py search_reindex`` rebuilds it."""

    word = models.CharField(max_length=64, primary_key=True)

    def __str__(self) -> str:
        return self.word
