"""The catalog: the assets of data sources, and what the data in them means (classifications)."""
from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.fields import DESCRIPTION_MAX_LENGTH, NOTE_MAX_LENGTH, BoundedTextField
from accounts.governed import GovernedModel
from sources.models import DataSource


class Asset(GovernedModel):
    """A data source itself, or a database, schema, table, view, routine (function, procedure, trigger) or column
    of one — one table, so that classifications, tags, owners, terms and lineage attach to any of them. Assets are
    never deleted by scans: a vanished object gets ``removed_at``.

    Each data source has one asset of type ``source`` (catalog.source_assets), the root of its tree: the parent of
    its databases, named after the source, so that the source is curated, searched and filtered as any asset. It
    is not scanned: it comes and goes with the data source."""

    class Type(models.TextChoices):
        SOURCE = "source", "Data source"
        DATABASE = "database", "Database"
        SCHEMA = "schema", "Schema"
        TABLE = "table", "Table"
        VIEW = "view", "View"
        ROUTINE = "routine", "Routine"
        COLUMN = "column", "Column"

    class Sensitivity(models.TextChoices):
        PUBLIC = "public", "Public"
        INTERNAL = "internal", "Internal"
        CONFIDENTIAL = "confidential", "Confidential"
        RESTRICTED = "restricted", "Restricted"

    workspace_path = "data_source__workspace"
    audit_fields = ["description", "sensitivity"]

    # Indexed with the id (Meta.indexes) rather than alone: the same lookups by source, and a source's asset ids read
    # from the index alone — what a scoped search's permission check hashes (catalog.search).
    data_source = models.ForeignKey(DataSource, on_delete=models.CASCADE, related_name="assets", db_index=False)
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
                                               name="asset_unique_qualified_name"),
                       # One root per data source (catalog.source_assets), whoever ensures it first.
                       models.UniqueConstraint(fields=["data_source"], condition=Q(type="source"),
                                               name="asset_one_source_root")]
        indexes = [models.Index(fields=["data_source", "id"], name="asset_source_ids"),
                   models.Index(fields=["data_source", "type"]), models.Index(fields=["parent"]),
                   # A column's look-alikes in its source (catalog.suggestions): one index probe per column.
                   models.Index(fields=["data_source", "name", "data_type"], condition=Q(type="column"),
                                name="asset_column_lookalike")]
        permissions = [("classify_asset", "Can classify an asset")]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        """What pages and lists show the asset as: its qualified name, but a data source's own asset its source's
        name — its qualified name's trailing slash (catalog.source_assets) is a key, not a word for readers."""
        return self.name if self.type == self.Type.SOURCE else self.qualified_name

    # The properties above in SQL, for API lists read as rows (config.rows): keep each equal to its property.
    row_expressions = {"title": models.Case(models.When(type=Type.SOURCE, then=models.F("name")),
                                            default=models.F("qualified_name"))}


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


# One proxy per asset type, so the admin lists sources, databases, schemas, tables, views and columns on their own
# pages. Permissions stay those of Asset (accounts.permissions works on the concrete model).


class SourceAsset(Asset):
    objects = AssetTypeManager(Asset.Type.SOURCE)

    class Meta:
        proxy = True
        verbose_name = "source (catalog)"
        verbose_name_plural = "sources (catalog)"


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


class RoutineAsset(Asset):
    objects = AssetTypeManager(Asset.Type.ROUTINE)

    class Meta:
        proxy = True
        verbose_name = "routine"


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


class Suggestion(GovernedModel):
    """What the data suggests a steward say about an asset — link a glossary term, or take a description — made by
    catalog.suggestions from what stewards already said elsewhere, and applied only when a curator accepts it.

    ``fingerprint`` is what is suggested (the term, or the description's text): an asset gets each suggestion once,
    so a redelivered event adds nothing, and a dismissed one is not made again (the row stays, dismissed)."""

    class Kind(models.TextChoices):
        TERM = "term", "Link a glossary term"
        DESCRIPTION = "description", "Use a description"

    class Rule(models.TextChoices):
        IMPLIED_CLASSIFICATION = "implied_classification", "Term implied by a confirmed classification"
        LOOKALIKE = "lookalike", "Same name and type as a curated column"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACCEPTED = "accepted", "Accepted"
        DISMISSED = "dismissed", "Dismissed"

    workspace_path = "asset__data_source__workspace"
    audit_fields = ["status"]

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="suggestions")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    rule = models.CharField(max_length=24, choices=Rule.choices)
    term = models.ForeignKey(GlossaryTerm, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="suggestions", help_text="The term to link (a term suggestion).")
    description = BoundedTextField(blank=True, max_length=DESCRIPTION_MAX_LENGTH,
                                   help_text="The description to take (a description suggestion), Markdown.")
    fingerprint = models.CharField(max_length=64, help_text="What is suggested, as a digest: the term or the text.")
    reason = models.CharField(max_length=1000, help_text="The evidence, in words.")
    source_asset = models.ForeignKey(Asset, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                     help_text="The curated column the suggestion copies, if any.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["asset_id", "fingerprint"]  # the unique constraint's index
        constraints = [
            models.UniqueConstraint(fields=["asset", "fingerprint"], name="suggestion_unique"),
            models.CheckConstraint(condition=Q(kind="term", term__isnull=False)
                                   | Q(kind="description", term__isnull=True), name="suggestion_term_or_text"),
        ]
        indexes = [models.Index(fields=["status"], condition=Q(status="open"), name="suggestion_open"),
                   models.Index(fields=["source_asset"], name="suggestion_source_asset")]

    def __str__(self) -> str:
        what = f"term “{self.term}”" if self.kind == self.Kind.TERM else "a description"
        return f"{what} for {self.asset}"


# --- lineage: where the data of an asset comes from and goes to (catalog.lineage) --------------------------------
# Edges join catalog assets, or datasets Racine does not catalog (ExternalAsset), at table and column level. Each
# edge says where it was read from (its origin and origin key); one origin never touches another's edges, and the
# edges of one (origin, key) are replaced together (catalog.lineage.services.lineage_edges_replace).


class LineageOrigin(models.TextChoices):
    """Where lineage was read from. Each origin writes and replaces only its own edges."""

    VIEW = "view", "View definition"
    SQL = "sql", "Submitted SQL"
    PROCEDURE = "procedure", "Stored procedure"
    OPENLINEAGE = "openlineage", "OpenLineage"
    MANUAL = "manual", "Manual"


class ExternalAsset(GovernedModel):
    """A dataset that lineage names but the catalog does not hold — a table no scan has seen in submitted SQL, an
    OpenLineage dataset of no registered source — or one of its fields (a row each, so that column-level edges
    reach it like a column). It belongs to the workspace whose lineage named it: whoever may view that workspace's
    external assets sees it, and nobody else."""

    class Type(models.TextChoices):
        DATASET = "dataset", "Dataset"
        FIELD = "field", "Field"

    workspace_path = "workspace"
    audit_fields = ["namespace", "name", "field"]

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="external_assets")
    type = models.CharField(max_length=10, choices=Type.choices)
    namespace = models.CharField(
        max_length=1024, help_text="Where the dataset lives: an OpenLineage namespace (postgres://db:5432), or "
                                   "datasource/<id> for a table named by SQL recorded against a data source.")
    name = models.CharField(max_length=1024, help_text="The dataset's name (for a field, its dataset's).")
    field = models.CharField(max_length=512, blank=True, help_text="The field's name; blank for the dataset.")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="fields")
    data_source = models.ForeignKey(DataSource, null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="external_assets",
                                    help_text="The data source whose SQL named it, when one did.")
    first_seen_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["workspace_id", "namespace", "name", "field"]  # the unique constraint's index
        constraints = [models.UniqueConstraint(fields=["workspace", "namespace", "name", "field"],
                                               name="externalasset_unique_name")]

    def __str__(self) -> str:
        return self.qualified_name

    @property
    def qualified_name(self) -> str:
        """Its shown name; a source's external under the source's name when the source was loaded with it."""
        source_name = self.data_source.name if ExternalAsset.data_source.is_cached(self) and self.data_source else None
        return external_qualified_name(self.namespace, self.name, self.field, self.data_source_id, source_name)


def external_qualified_name(namespace: str, name: str, field: str = "", data_source_id: int | None = None,
                            data_source_name: str | None = None) -> str:
    """How an external asset is shown: ``<namespace>/<name>[.<field>]``. A table that SQL or a definition read on a
    data source names but no scan has seen is keyed by the namespace ``datasource/<id>`` (stable when the source
    is renamed, unique per source) and shown under the source's name: ``<source name>/<name as written>``."""
    shown = data_source_name if data_source_name and namespace == f"datasource/{data_source_id}" else namespace
    dataset = f"{shown}/{name}"
    return f"{dataset}.{field}" if field else dataset


class LineageRecord(GovernedModel):
    """What edges were read from: a SQL script, a view's definition, a procedure's body, an OpenLineage event —
    its text and hash, once per (origin, origin key, text). Query logs may hold literal values, so the text is
    read by stewards and auditors only."""

    workspace_path = "workspace"

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="lineage_records")
    origin = models.CharField(max_length=12, choices=LineageOrigin.choices)
    origin_key = models.CharField(max_length=255)
    text_hash = models.CharField(max_length=64, help_text="sha256 of the text.")
    text = models.TextField()
    dialect = models.CharField(max_length=20, blank=True)
    data_source = models.ForeignKey(DataSource, null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="lineage_records")
    first_seen_at = models.DateTimeField(default=timezone.now, editable=False)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["workspace_id", "origin", "origin_key", "text_hash"]
        constraints = [models.UniqueConstraint(fields=["workspace", "origin", "origin_key", "text_hash"],
                                               name="lineagerecord_unique_text")]

    def __str__(self) -> str:
        return f"{self.origin} {self.origin_key}"


class LineageEdge(GovernedModel):
    """Data of ``source`` flows into ``target`` (each an asset or an external asset: exactly one of the two
    fields), at table level (tables, views, datasets) or column level (columns, fields), as read from one origin.

    Unique per (workspace, origin, origin key, source, target): the same flow read again refreshes
    ``last_seen_at``; read from another origin it is another edge, so no origin overwrites or deletes another's.
    ``direct``: the target's values are the source's, untransformed (a copy or a rename, through joins and
    unions) — what classifications may follow. Readable by whoever may view both ends (catalog.lineage.graph);
    the workspace is the one whose lineage recorded it, and scopes its writes."""

    Origin = LineageOrigin

    class Level(models.TextChoices):
        TABLE = "table", "Table"
        COLUMN = "column", "Column"

    workspace_path = "workspace"
    audit_fields = ["origin", "origin_key", "level", "source_asset", "source_external", "target_asset",
                    "target_external", "direct"]

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="lineage_edges")
    origin = models.CharField(max_length=12, choices=Origin.choices)
    origin_key = models.CharField(
        max_length=255, help_text="Which statement or event of the origin: the view's asset id, the submitted "
                                  "SQL's data source and hash, the OpenLineage job.")
    level = models.CharField(max_length=6, choices=Level.choices)
    source_asset = models.ForeignKey(Asset, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    source_external = models.ForeignKey(ExternalAsset, null=True, blank=True, on_delete=models.CASCADE,
                                        related_name="+")
    target_asset = models.ForeignKey(Asset, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    target_external = models.ForeignKey(ExternalAsset, null=True, blank=True, on_delete=models.CASCADE,
                                        related_name="+")
    direct = models.BooleanField(default=False)
    record = models.ForeignKey(LineageRecord, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="edges", help_text="The text the edge was last read from.")
    first_seen_at = models.DateTimeField(default=timezone.now, editable=False)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(source_asset__isnull=False, source_external__isnull=True)
                | Q(source_asset__isnull=True, source_external__isnull=False), name="lineageedge_one_source"),
            models.CheckConstraint(
                condition=Q(target_asset__isnull=False, target_external__isnull=True)
                | Q(target_asset__isnull=True, target_external__isnull=False), name="lineageedge_one_target"),
            # An edge's ends are one asset or one external asset each: COALESCE makes the absent one 0, so two
            # NULLs compare equal and the same flow cannot be stored twice.
            models.UniqueConstraint(
                "workspace", "origin", "origin_key",
                Coalesce("source_asset", Value(0)), Coalesce("source_external", Value(0)),
                Coalesce("target_asset", Value(0)), Coalesce("target_external", Value(0)),
                name="lineageedge_unique_flow"),
        ]
        # The walks follow edges from one end to the other (catalog.lineage.graph), filtered by level.
        indexes = [
            models.Index(fields=["source_asset", "level"], name="lineageedge_source_asset"),
            models.Index(fields=["target_asset", "level"], name="lineageedge_target_asset"),
            models.Index(fields=["source_external", "level"], name="lineageedge_source_external"),
            models.Index(fields=["target_external", "level"], name="lineageedge_target_external"),
        ]

    def __str__(self) -> str:
        source = self.source_asset_id or f"external {self.source_external_id}"
        target = self.target_asset_id or f"external {self.target_external_id}"
        return f"{self.get_origin_display()}: {source} → {target}"
# --- custom properties (catalog.properties) ----------------------------------------------------------------------
# What a workspace wants said of its assets beyond the built-in curation (a retention period, a cost centre, a
# review date): each workspace defines its own, as its tags, and its stewards set them on its assets. A value is
# one row per asset and property, holding the typed value as JSON (catalog.properties validates it against its
# definition); a separate row, not a key of Asset.properties, which holds what scans read from the source.


class PropertyDefinition(GovernedModel):
    """A property a workspace's assets may carry: its stable name (the one API clients and filters use), how it is
    shown, its type, the values a choice allows, and the asset types it applies to (none: all).

    A definition that assets carry a value of cannot be deleted (the values protect it, and catalog.properties
    refuses naming how many): deleting it would silently erase what stewards wrote on every one of those assets;
    clearing them first (bulk curation) leaves each erasure in the asset's history."""

    class Type(models.TextChoices):
        TEXT = "text", "Text"
        NUMBER = "number", "Number"
        BOOLEAN = "boolean", "Yes / no"
        DATE = "date", "Date"
        URL = "url", "Link"
        CHOICE = "choice", "Choice"
        MULTI_CHOICE = "multi_choice", "Choices (several)"

    CHOICE_TYPES = (Type.CHOICE, Type.MULTI_CHOICE)

    workspace_path = "workspace"
    audit_fields = ["name", "label", "help_text", "type", "allowed_values", "applies_to"]

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="property_definitions")
    # "name", not "key": the audit trail takes a field whose name says key for a secret and hides its value.
    name = models.CharField(
        max_length=64, help_text="The property's name in the API and in filters (?property=name:value): lower-case "
                                 "letters, digits and underscores, starting with a letter. It cannot change.")
    label = models.CharField(max_length=200, help_text="How the property is shown to people.")
    help_text = BoundedTextField(blank=True, max_length=NOTE_MAX_LENGTH,
                                 help_text="What the property means and how to fill it in.")
    type = models.CharField(max_length=12, choices=Type.choices)
    allowed_values = models.JSONField(default=list, blank=True,
                                      help_text="The values a choice offers, in the order shown (choice types only).")
    applies_to = models.JSONField(default=list, blank=True,
                                  help_text="The asset types that may carry it (source, database, schema, table, "
                                            "view, routine, column); empty: every type.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["workspace_id", "name"]  # the unique constraint's index
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="propertydefinition_unique_name")]

    def __str__(self) -> str:
        return self.label or self.name


class AssetPropertyValue(GovernedModel):
    """The value of a workspace's property on one of its assets, as JSON of the definition's type (text, URL,
    choice and date as a string — a date as YYYY-MM-DD —, number, boolean, and a list of strings for several
    choices), with who set it and when."""

    workspace_path = "asset__data_source__workspace"

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="property_values")
    definition = models.ForeignKey(PropertyDefinition, on_delete=models.PROTECT, related_name="values")
    value = models.JSONField()
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    set_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["asset_id", "definition_id"]  # the unique constraint's index
        constraints = [models.UniqueConstraint(fields=["asset", "definition"], name="assetpropertyvalue_unique")]
        # How many assets carry a definition (its deletion, a change of its choices) and ?property= filters.
        indexes = [models.Index(fields=["definition"], name="assetpropertyvalue_definition")]
        verbose_name = "property value"

    def __str__(self) -> str:
        return f"{self.definition.name} of {self.asset}"
# --- search (catalog.search) ---------------------------------------------------------------------------------------
# Derived data, rebuilt from the rows above: not governed (reads join them to what the user may see through
# accounts.permissions.visible_sql), not audited, written only by catalog.search.


class AssetSearchDocument(models.Model):
    """What search matches of one present asset: its names and their words, the schema it sits in (a facet), and on
    PostgreSQL a weighted ``tsvector`` (A name, B glossary terms and synonyms, C qualified name, tags,
    classifications and owners, D descriptions). SQLite keeps the weighted text in an FTS5 table instead."""

    asset = models.OneToOneField(Asset, primary_key=True, on_delete=models.CASCADE, related_name="search_document")
    schema = models.ForeignKey(Asset, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                               db_constraint=False, db_index=False)
    # The asset's source, copied: a scoped user's visibility (their workspaces' sources) is a condition on the
    # document, which the index applies, rather than a join with every asset they may see.
    data_source = models.ForeignKey("sources.DataSource", null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="+", db_constraint=False, db_index=False)
    # How curated the asset is (certified, described by a steward, owned: 0 to 3): within a tier, first.
    curated = models.PositiveSmallIntegerField(default=0)
    # The asset's names, copied: a page is ranked (exact name, then by qualified name) without reading the assets.
    name = models.TextField(default="")
    qualified_name = models.TextField(default="")
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


class DefinitionLineage(GovernedModel):
    """What lineage last read from a view's or a routine's definition (catalog.lineage.definitions): the hash of
    the text it read, when, how many edges it found, and the problem that kept it from reading them — so that a
    rescan reads only what changed, and a steward sees which definitions gave no lineage and why."""

    workspace_path = "asset__data_source__workspace"

    asset = models.OneToOneField(Asset, on_delete=models.CASCADE, related_name="definition_lineage")
    text_hash = models.CharField(max_length=64, help_text="sha256 of what was read: the text, dialect and names.")
    read_at = models.DateTimeField(help_text="When the definition was last read.")
    seen_at = models.DateTimeField(help_text="When a scan last found the definition unchanged.")
    table_edges = models.PositiveIntegerField(default=0)
    column_edges = models.PositiveIntegerField(default=0)
    external_tables = models.JSONField(default=list, blank=True,
                                       help_text="Tables the definition reads that no scan of the source has seen.")
    problem = models.TextField(blank=True, help_text="Why no lineage, or only part of it, was read; blank if none.")

    class Meta:
        ordering = ["asset_id"]
        indexes = [models.Index(fields=["asset"], condition=~Q(problem=""), name="definitionlineage_problem")]

    def __str__(self) -> str:
        return f"lineage of {self.asset}"
