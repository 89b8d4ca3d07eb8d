"""Scans: what to scan (rule sets), when (scans with a beat schedule), each execution (runs) and the drift it saw."""
from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from accounts.fields import DESCRIPTION_MAX_LENGTH, BoundedTextField
from accounts.governed import GovernedModel
from accounts.models import Workspace
from catalog.models import Asset
from core.models import Run
from scanning.detection import VALIDATORS, CustomRule
from sources.models import DataSource
from sources.safe_regex import InvalidPattern, compile_pattern


class ScanRuleSet(GovernedModel):
    """What a scan reads: include / exclude patterns, sampling, detection and profiling switches.

    Patterns are globs (``sales_*``) or regular expressions prefixed with ``re:``; table patterns match the
    table name or ``schema.table``.
    """

    workspace_path = "workspace"
    audit_fields = ["name", "include_schemas", "exclude_schemas", "include_tables", "exclude_tables",
                    "include_columns", "exclude_columns", "sample_size", "detection_enabled",
                    "classifications", "profiling_enabled"]

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="scan_rule_sets")
    name = models.CharField(max_length=200)
    description = BoundedTextField(blank=True, max_length=DESCRIPTION_MAX_LENGTH)
    include_schemas = models.JSONField(default=list, blank=True)
    exclude_schemas = models.JSONField(default=list, blank=True)
    include_tables = models.JSONField(default=list, blank=True)
    exclude_tables = models.JSONField(default=list, blank=True)
    include_columns = models.JSONField(default=list, blank=True)
    exclude_columns = models.JSONField(default=list, blank=True)
    sample_size = models.PositiveIntegerField(default=100, help_text="Values sampled per column (at most).")
    detection_enabled = models.BooleanField(default=True, help_text="Sample values and detect sensitive data.")
    classifications = models.JSONField(
        default=list, blank=True,
        help_text="Names of the classifications to detect; empty means all active ones.")
    profiling_enabled = models.BooleanField(
        default=False, help_text="Record null ratio, distinct estimate and min/max length per column.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["workspace", "name"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="scanruleset_unique_name")]

    def __str__(self) -> str:
        return self.name


class Scan(GovernedModel):
    """A data source scanned with a rule set, on a schedule kept as a django-celery-beat PeriodicTask."""

    workspace_path = "data_source__workspace"
    audit_fields = ["name", "data_source", "rule_set", "schedule", "enabled"]

    data_source = models.ForeignKey(DataSource, on_delete=models.CASCADE, related_name="scans")
    rule_set = models.ForeignKey(ScanRuleSet, on_delete=models.PROTECT, related_name="scans")
    name = models.CharField(max_length=200)
    schedule = models.CharField(
        max_length=100, blank=True,
        help_text="Cron expression (minute hour day-of-month month day-of-week), e.g. '0 2 * * *'; "
                  "empty for manual runs only.")
    enabled = models.BooleanField(default=True)
    periodic_task = models.OneToOneField(PeriodicTask, null=True, blank=True, on_delete=models.SET_NULL,
                                         related_name="racine_scan", editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["data_source", "name"]
        constraints = [models.UniqueConstraint(fields=["data_source", "name"], name="scan_unique_name")]
        permissions = [("run_scan", "Can start and cancel runs of a scan")]

    def __str__(self) -> str:
        return self.name


DETECTION_PHASE = "detection"


class ScanRun(Run, GovernedModel):
    """One execution of a scan, or a detection asked for on demand (``trigger`` = detection, no scan, ``targets``
    the assets asked for). At most one queued or running run per data source (a database constraint)."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        MANUAL = "manual", "Manual"
        API = "api", "API"
        DETECTION = "detection", "Detection on demand"

    workspace_path = "data_source__workspace"
    reset_on_claim = ("progress_done", "columns_classified")

    scan = models.ForeignKey(Scan, on_delete=models.CASCADE, related_name="runs", null=True, blank=True,
                             help_text="Empty for a detection on demand.")
    data_source = models.ForeignKey(DataSource, on_delete=models.CASCADE, related_name="scan_runs")
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.MANUAL)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    objects_seen = models.PositiveIntegerField(default=0)
    added = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    columns_classified = models.PositiveIntegerField(default=0)
    targets = models.JSONField(default=list, blank=True,
                               help_text="Detection on demand: the ids of the assets asked for.")

    class Meta:
        ordering = ["-queued_at"]
        constraints = [
            # The guarantee behind "one run per source at a time": a second queued/running run for the same
            # source cannot be inserted, whatever races the API, beat or a retry get into.
            models.UniqueConstraint(fields=["data_source"], condition=Q(status__in=["queued", "running"]),
                                    name="scanrun_one_active_per_source"),
            # A run is a scan's or a detection on demand, never both nor neither.
            models.CheckConstraint(condition=Q(trigger="detection", scan__isnull=True)
                                   | (~Q(trigger="detection") & Q(scan__isnull=False)),
                                   name="scanrun_scan_unless_detection"),
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"])]

    # How a run started, as the end of its title ("shop: run #3 of scan “Nightly”, on schedule (succeeded)").
    TRIGGER_WORDS = {Trigger.SCHEDULE: "on schedule", Trigger.MANUAL: "started by hand",
                     Trigger.API: "started through the API"}

    def __str__(self) -> str:
        status = self.get_status_display().lower()
        if self.scan_id is None:
            return f"{self.data_source}: detection on demand #{self.pk} ({status})"
        return (f"{self.data_source}: run #{self.pk} of scan “{self.scan}”, "
                f"{self.TRIGGER_WORDS.get(self.trigger, self.get_trigger_display())} ({status})")

    @property
    def is_detection(self) -> bool:
        return self.trigger == self.Trigger.DETECTION

    @property
    def counts_tables(self) -> bool:
        """Progress counts tables, exactly (detection); else schema objects against an estimate (the source's size
        at its last successful run)."""
        return self.is_detection or self.phase == DETECTION_PHASE

    def ended_events(self) -> list[tuple[str, models.Model, dict]]:
        """``scan.finished`` / ``scan.failed`` / ``scan.cancelled`` (``detection.*`` for a detection on demand),
        and ``asset.changed`` on the source when the run saw drift (one event per run, with the counts)."""
        kind = "detection" if self.is_detection else "scan"
        outcome = {self.Status.SUCCEEDED: "finished", self.Status.FAILED: "failed",
                   self.Status.CANCELLED: "cancelled"}[self.status]
        events = []
        if self.added or self.changed or self.removed:
            events.append(("asset.changed", self.data_source, {
                "data_source": self.data_source_id, "run": self.pk, "added": self.added, "changed": self.changed,
                "removed": self.removed}))
        events.append((f"{kind}.{outcome}", self, {
            "run": self.pk, "scan": self.scan_id, "data_source": self.data_source_id, "trigger": self.trigger,
            "status": self.status, "objects_seen": self.objects_seen, "added": self.added, "changed": self.changed,
            "removed": self.removed, "unchanged": self.unchanged, "columns_classified": self.columns_classified,
            "targets": self.targets, "error": self.error, "started_at": self.started_at,
            "finished_at": self.finished_at}))
        return events


class AssetChange(GovernedModel):
    """Drift seen by a run: an asset added, changed (with the fields before and after) or removed."""

    class Kind(models.TextChoices):
        ADDED = "added", "Added"
        CHANGED = "changed", "Changed"
        REMOVED = "removed", "Removed"

    workspace_path = "run__data_source__workspace"

    run = models.ForeignKey(ScanRun, on_delete=models.CASCADE, related_name="changes")
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    changes = models.JSONField(default=dict, blank=True, help_text="{field: [before, after]} for changed assets.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "asset"], name="assetchange_one_per_run")]

    def __str__(self) -> str:
        return f"{self.kind} {self.asset}"


class ClassificationRule(GovernedModel):
    """A steward's own detection rule for a workspace: column-name and/or value conditions that, when they hold,
    suggest ``classification`` on a column (converted to the engine's ``CustomRule``).

    Every condition the rule states must hold. A rule with only a column-name pattern matches on the name alone;
    with a value pattern or a validator, at least ``min_match_share`` of the non-null sampled values and
    ``min_distinct`` distinct values must match.
    """

    workspace_path = "workspace"
    audit_fields = ["classification", "description", "column_name_regex", "value_regex", "validator",
                    "min_match_share", "min_distinct", "enabled"]

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="classification_rules")
    classification = models.ForeignKey("catalog.Classification", on_delete=models.PROTECT,
                                       related_name="custom_rules")
    description = BoundedTextField(blank=True, max_length=DESCRIPTION_MAX_LENGTH)
    column_name_regex = models.CharField(
        max_length=500, blank=True,
        help_text="Regular expression searched in the column name (case-insensitive, RE2 syntax: no "
                  "backreferences or lookaround), e.g. '^emp(loyee)?_?no$'.")
    value_regex = models.CharField(
        max_length=1000, blank=True,
        help_text="Regular expression every matching value must match in full (case-insensitive, RE2 syntax).")
    validator = models.CharField(max_length=50, blank=True,
                                 help_text="A built-in validator the values must pass (e.g. 'luhn', 'email').")
    min_match_share = models.FloatField(
        default=0.8, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of non-null sampled values that must match (0 to 1).")
    min_distinct = models.PositiveIntegerField(default=1, help_text="Distinct matching values needed at least.")
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["workspace", "classification", "pk"]

    def __str__(self) -> str:
        return f"{self.classification} rule #{self.pk}" if self.pk else f"{self.classification} rule"

    def clean(self) -> None:
        # The engine validates the same things when the rule is converted; doing it here puts the message on the
        # field in the admin form instead of failing a scan later.
        errors: dict[str, list[str]] = {}
        if not (self.column_name_regex or self.value_regex or self.validator):
            errors["__all__"] = ["Give a column-name pattern, a value pattern or a validator."]
        for name in ("column_name_regex", "value_regex"):
            pattern = getattr(self, name)
            if pattern:
                try:
                    compile_pattern(pattern, ignore_case=True)
                except InvalidPattern as exc:
                    errors[name] = [f"Pattern refused: {exc}."]
        if self.validator and self.validator not in VALIDATORS:
            errors["validator"] = [f"Unknown validator; choose one of: {', '.join(sorted(VALIDATORS))}."]
        if errors:
            raise ValidationError(errors)

    def to_custom_rule(self, name: str | None = None):
        """The engine's form of this rule (``scanning.detection.CustomRule``); ``name`` for an unsaved preview."""
        return CustomRule(name=name or self.classification.name, column_name_regex=self.column_name_regex or None,
                          value_regex=self.value_regex or None, validator=self.validator or None,
                          min_match_share=self.min_match_share, min_distinct=max(self.min_distinct, 1))


class TableSample(models.Model):
    """When detection last sampled a table (or view), in which run and judged with what: tables never sampled, or
    judged with other rules, are sampled by the next run with detection, whatever changed. Holds no values."""

    asset = models.OneToOneField(Asset, on_delete=models.CASCADE, related_name="detection_sample")
    run = models.ForeignKey(ScanRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sampled_at = models.DateTimeField(default=timezone.now)
    columns_sampled = models.PositiveIntegerField(default=0)
    judged_with = models.CharField(
        max_length=64, blank=True, default="",
        help_text="Fingerprint of what the table was judged with (engine revision, custom rules, classifications "
                  "switched on, sample size): a scan judging otherwise reads the table again, changed or not.")

    def __str__(self) -> str:
        return f"{self.asset} sampled at {self.sampled_at:%Y-%m-%d %H:%M}"
