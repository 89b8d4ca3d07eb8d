"""Sensitive-data detection: after a run's schema step, and on demand for a column, table or source.

How a table is read and judged:

- one row sample per table (all its columns at once, ``rule_set.sample_size`` rows), plus one query for each of
  its sparsest columns (at most ``MAX_TOPPED_UP_COLUMNS``) so that a mostly-NULL column is judged on
  ``sample_size`` values too (``Connector.sample_values``); the same data gives the same sample, so two identical
  scans give the same classifications; binary columns are not read at all (the engine never classifies them,
  and blobs are heavy);
- each column goes through the engine (``scanning.detection.detect_column``) with the run's settings, the
  workspace's custom rules and the rule set's classification filter;
- the stewards' decisions are respected before anything is written: a rejected classification whose evidence
  fingerprint is unchanged is excluded and the engine asked again for the next best; one whose evidence changed
  comes back as a suggestion (``catalog.services.asset_classifications_record_scan`` writes it and says so);
- with the rule set's profiling on, the same sample gives each column a profile (``scanning.profiling``: null
  ratio, distinct estimate, value lengths — measurements only); a rule set may profile without detecting;
- the raw values exist only in this module's local variables, for the time of one table. Evidence holds masked
  examples only; as a second line of defence any evidence string that contains a sampled value is blanked
  before it is written. Errors are logged without exception messages (a driver or a validator could quote a
  value in one).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property, partial

from celery.exceptions import SoftTimeLimitExceeded
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.actors import SYSTEM, SystemActor
from accounts.models import User
from accounts.permissions import authorize
from catalog.models import Asset, AssetClassification, Classification
from catalog.selectors import asset_list
from catalog.services import (
    DetectedClassification,
    asset_classifications_record_scan,
    asset_sensitivity_recompute,
    classification_evidence_fingerprint,
)
from core import runs
from scanning.detection import ENGINE_REVISION, ColumnSample, DetectionSettings, detect_column, type_family
from scanning.models import DETECTION_PHASE, ScanRuleSet, ScanRun, TableSample
from scanning.profiling import profile_column
from scanning.services.classifications import custom_rules_for
from scanning.sync import RunStopped
from sources.connectors import (
    AuthenticationFailed,
    ConnectorConfigError,
    ConnectorError,
    SampledValues,
    SourceUnavailable,
    parse_qualified_name,
)
from sources.crypto import SecretUnreadable
from sources.services import open_connector, run_failure_message

logger = logging.getLogger("racine.scanning")

# Tables read by a scan. Views are read on demand only: sampling one runs its whole query.
SCANNED_TABLE_TYPES = (Asset.Type.TABLE,)
ON_DEMAND_TABLE_TYPES = (Asset.Type.TABLE, Asset.Type.VIEW)
_UNREAD_FAMILIES = frozenset({"binary"})
_SCRUB_MIN_LENGTH = 4  # shorter values ("M", "42") occur in any text; masking already reduces them to stars
REDACTED = "***"


@dataclass(frozen=True)
class Context:
    """What a detection pass needs besides the values: fixed for the whole pass."""

    settings: DetectionSettings
    custom_rules: tuple
    classification_ids: dict[str, int]
    sample_size: int
    detect: bool = True
    profile: bool = False

    @cached_property
    def fingerprint(self) -> str:
        """What a table's verdicts depend on besides its data, as a hash stored with its sample
        (``TableSample.judged_with``): a rule created, edited or switched off changes it, and so does a new
        engine revision."""
        judged_with = [ENGINE_REVISION, self.sample_size, self.detect, self.profile,
                       sorted(self.classification_ids), sorted(self.settings.disabled),
                       [dataclasses.astuple(rule) for rule in self.custom_rules]]
        return hashlib.sha256(json.dumps(judged_with, default=str).encode()).hexdigest()


def detection_context(*, workspace_id: int, rule_set: ScanRuleSet | None, detect: bool = True) -> Context:
    """``detect`` says whether to classify (a run follows its rule set; on demand always); profiles are written
    when the rule set asks for them."""
    ids, inactive = {}, set()
    for pk, name, active in Classification.objects.values_list("pk", "name", "is_active"):
        ids[name] = pk
        if not active:
            inactive.add(name)
    wanted = set(rule_set.classifications) if rule_set is not None and rule_set.classifications else None
    disabled = inactive | ({name for name in ids if name not in wanted} if wanted is not None else set())
    sample_size = rule_set.sample_size if rule_set is not None else ScanRuleSet._meta.get_field(
        "sample_size").default
    return Context(settings=DetectionSettings(disabled=frozenset(disabled)),
                   custom_rules=tuple(custom_rules_for(workspace_id)),
                   classification_ids={name: pk for name, pk in ids.items() if name not in disabled},
                   sample_size=sample_size, detect=detect,
                   profile=rule_set is not None and rule_set.profiling_enabled)


# --- one table ---------------------------------------------------------------------------------------------------

def _scrub(evidence, raw: set[str]):
    """Blank any evidence string that contains a sampled value (the engine masks; this checks it did)."""
    if isinstance(evidence, dict):
        return {key: _scrub(value, raw) for key, value in evidence.items()}
    if isinstance(evidence, list):
        return [_scrub(value, raw) for value in evidence]
    if isinstance(evidence, str) and any(value in evidence for value in raw):
        return REDACTED
    return evidence


def _raw_texts(values) -> set[str]:
    texts = set()
    for value in values:
        if value is None or isinstance(value, (bytes, bytearray, memoryview)):
            continue
        text = str(value).strip()
        if len(text) >= _SCRUB_MIN_LENGTH:
            texts.add(text)
    return texts


def _best(sample: ColumnSample, ctx: Context, rejected: dict[str, str]) -> DetectedClassification | None:
    """The engine's best answer that a steward has not already rejected on the same evidence."""
    exclude: set[str] = set()
    while True:
        found = detect_column(sample, settings=ctx.settings, custom_rules=ctx.custom_rules, exclude=exclude)
        if found is None:
            return None
        classification_id = ctx.classification_ids.get(found.classification)
        if classification_id is None:  # not seeded yet, or switched off since the context was built
            exclude.add(found.classification)
            continue
        resuggest = False
        if found.classification in rejected:
            fingerprint = classification_evidence_fingerprint(classification=found.classification,
                                                              evidence=found.evidence)
            if fingerprint == rejected[found.classification]:
                exclude.add(found.classification)
                continue
            resuggest = True
        return DetectedClassification(classification_id, found.confidence, found.evidence, resuggest=resuggest)


def detect_table(*, connector, table: Asset, ctx: Context, run: ScanRun | None = None,
                 column_ids=None) -> int:
    """Sample one table (all its live columns, or ``column_ids``) in one query, detect, and write the results
    with the table's sample marker and — for a run — the run's progress, in one transaction.

    Returns the number of columns that carry a detection. Raises RunStopped when the run was cancelled or taken
    away meanwhile (nothing of this table is then written).
    """
    columns = Asset.objects.filter(parent=table, type=Asset.Type.COLUMN, removed_at__isnull=True)
    if column_ids is not None:
        columns = columns.filter(pk__in=column_ids)
    columns = list(columns.order_by("ordinal", "pk").only("pk", "qualified_name", "data_type"))
    names = {column.pk: parse_qualified_name(column.qualified_name)[-1] for column in columns}
    to_read = [names[c.pk] for c in columns if type_family(c.data_type) not in _UNREAD_FAMILIES]
    sample = (connector.sample_values(parse_qualified_name(table.qualified_name), to_read, limit=ctx.sample_size)
              if to_read else SampledValues(rows={}, values={}))
    rejected: dict[int, dict[str, str]] = {}
    for asset_id, name, fingerprint in AssetClassification.objects.filter(
            asset_id__in=list(names), status=AssetClassification.Status.REJECTED).values_list(
            "asset_id", "classification__name", "evidence_fingerprint"):
        rejected.setdefault(asset_id, {})[name] = fingerprint
    results: dict[int, DetectedClassification | None] = {}
    profiles: list[Asset] = []
    for column in columns:
        name = names[column.pk]
        column_values = sample.values.get(name, ())
        if ctx.profile and name in sample.rows:
            column.profile = profile_column(sample.rows[name], rows=table.row_count)
            profiles.append(column)
        if not ctx.detect:
            continue
        found = _best(ColumnSample(name, table.name, column.data_type, column_values), ctx,
                      rejected.get(column.pk, {}))
        if found is not None:
            found = DetectedClassification(found.classification_id, found.confidence,
                                           _scrub(found.evidence, _raw_texts(column_values)), found.resuggest)
        results[column.pk] = found
    del sample  # the sampled values end here
    classified = sum(1 for found in results.values() if found is not None)
    with transaction.atomic():
        if ctx.detect:
            asset_classifications_record_scan(scope=table, results=results, run_id=run.pk if run else None)
        if profiles:
            Asset.objects.bulk_update(profiles, ["profile"], batch_size=500)
        if column_ids is None:
            TableSample.objects.update_or_create(asset=table, defaults={
                "run": run, "sampled_at": timezone.now(), "columns_sampled": len(to_read),
                "judged_with": ctx.fingerprint})
        if run is not None and not runs.heartbeat(ScanRun, run.pk, progress_done=F("progress_done") + 1,
                                                  columns_classified=F("columns_classified") + classified):
            raise RunStopped()  # rolls this table back with the transaction
    return classified


def _log_failure(message: str, exc: BaseException, **extra) -> None:
    # The traceback's frames, not the exception's message: a driver or validator error may quote a sampled value.
    logger.error(message, extra={**extra, "error_type": type(exc).__name__,
                                 "stack": "".join(traceback.format_tb(exc.__traceback__))[-4000:]})


def _redact(message: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            message = message.replace(secret, REDACTED)
    return message


# --- scan runs ---------------------------------------------------------------------------------------------------

def tables_to_sample(*, data_source_id: int, changed: set[int], judged_with: str) -> list[int]:
    """The run's tables to read: those whose columns are new or changed, and those never sampled or last judged
    with something else than ``judged_with`` (a custom rule created or edited since, another engine revision)."""
    live = Asset.objects.filter(data_source_id=data_source_id, type__in=SCANNED_TABLE_TYPES, removed_at__isnull=True)
    unjudged = set(live.exclude(detection_sample__judged_with=judged_with).values_list("pk", flat=True))
    return sorted((set(changed) & set(live.values_list("pk", flat=True))) | unjudged)


def _enqueue(run_id: int, table_ids: list[int]) -> None:
    # Lazy: scanning.tasks imports the services it calls (this module among them), a cycle.
    from scanning.tasks import detection_run_task

    detection_run_task.delay(run_id, table_ids)


def after_schema(*, run: ScanRun, sync, connector) -> None:
    """The schema is in the catalog. With detection on, hand the run to the ``detection`` queue; else end it."""
    rule_set = run.scan.rule_set
    table_ids = []
    if rule_set.detection_enabled or rule_set.profiling_enabled:
        ctx = detection_context(workspace_id=run.data_source.workspace_id, rule_set=rule_set,
                                detect=rule_set.detection_enabled)
        table_ids = tables_to_sample(data_source_id=run.data_source_id, changed=sync.tables_to_sample,
                                     judged_with=ctx.fingerprint)
    if not table_ids:
        runs.finish(ScanRun, run.pk, ScanRun.Status.SUCCEEDED)
        return
    with transaction.atomic():
        if not runs.heartbeat(ScanRun, run.pk, phase=DETECTION_PHASE, progress_done=0,
                              progress_total=len(table_ids)):
            raise RunStopped()
        transaction.on_commit(lambda: _enqueue(run.pk, table_ids))


MAX_DETECT_ASSETS = 1000  # per request: select the table, schema or database instead of more columns


@contextmanager
def _run_outcome(run: ScanRun, *, final_attempt: bool, hand_back, secrets: list[str]) -> Iterator[None]:
    """End ``run`` by what its body raised: cancelled, failed with a message that holds neither a secret nor a
    sampled value, or — a source unreachable before the final attempt — handed back for the task's retry
    (``hand_back(error)`` says whether it did: not when a cancel was asked for meanwhile, then the run ends
    cancelled) and re-raised."""
    try:
        yield
    except RunStopped:
        runs.finish(ScanRun, run.pk, ScanRun.Status.CANCELLED)
    except SourceUnavailable as exc:
        error = f"Detection: {run_failure_message(exc, run_id=run.pk, secrets=tuple(secrets))}"
        if not final_attempt and hand_back(error):
            raise
        runs.fail_unless_cancelled(ScanRun, run.pk, error)
    except AuthenticationFailed as exc:
        runs.finish(ScanRun, run.pk, ScanRun.Status.FAILED,
                    error=f"Detection: {run_failure_message(exc, run_id=run.pk, secrets=tuple(secrets))}")
    except ConnectorConfigError as exc:  # our own wording about the source's settings: safe and actionable
        runs.finish(ScanRun, run.pk, ScanRun.Status.FAILED, error=_redact(f"Detection: {exc}", tuple(secrets)))
    except (ConnectorError, SecretUnreadable) as exc:
        _log_failure("detection failed", exc, scan_run=run.pk)
        runs.finish(ScanRun, run.pk, ScanRun.Status.FAILED,
                    error=f"Detection could not read the source ({type(exc).__name__}); see the worker's log.")
    except SoftTimeLimitExceeded:
        runs.finish(ScanRun, run.pk, ScanRun.Status.FAILED, error="Detection exceeded its time limit.")
    except Exception as exc:
        _log_failure("detection failed", exc, scan_run=run.pk)
        runs.finish(ScanRun, run.pk, ScanRun.Status.FAILED,
                    error="Internal error during detection; see the worker's log.")


def _detect_plan(run: ScanRun, plan: list[tuple[Asset, list[int] | None]], ctx: Context, secrets: list[str], *,
                 resume: bool) -> None:
    """Read and judge each planned table for ``run`` — with ``resume``, skipping the whole tables this run already
    sampled (a retry that kept its progress) — then recompute the source's sensitivities and end the run."""
    done = set(TableSample.objects.filter(run=run, asset_id__in=[table.pk for table, _ in plan])
               .values_list("asset_id", flat=True)) if resume else set()
    with open_connector(run.data_source, acting_user=SYSTEM, purpose=f"detection, run {run.pk}") as connector:
        secrets.extend(connector.settings.secrets)
        for table, column_ids in plan:
            if column_ids is None and table.pk in done:
                continue
            detect_table(connector=connector, table=table, ctx=ctx, run=run, column_ids=column_ids)
    asset_sensitivity_recompute(data_source_id=run.data_source_id)
    runs.finish(ScanRun, run.pk, ScanRun.Status.SUCCEEDED)


def detection_run(*, scan_run_id: int, table_ids: list[int], final_attempt: bool = True) -> None:
    """Detect on a scan run's tables, then finish the run. Safe to deliver twice: only a running run in the
    detection phase is worked on, and tables this run already sampled (a retry) are skipped. An unreachable source
    keeps the run (its heartbeat refreshed) for the task's retry unless this is the final attempt.
    """
    run = (ScanRun.objects.select_related("scan__rule_set", "data_source")
           .filter(pk=scan_run_id, status=ScanRun.Status.RUNNING, phase=DETECTION_PHASE, scan__isnull=False)
           .first())
    if run is None:
        logger.info("detection not started: the run is not waiting for it", extra={"scan_run": scan_run_id})
        return
    if run.cancel_requested:  # asked to stop while this delivery or retry waited
        runs.finish(ScanRun, run.pk, ScanRun.Status.CANCELLED)
        return

    def keep_for_retry(error: str) -> bool:
        return runs.heartbeat(ScanRun, run.pk, error=error[:runs.ERROR_MAX_LENGTH])

    secrets: list[str] = []
    with _run_outcome(run, final_attempt=final_attempt, hand_back=keep_for_retry, secrets=secrets):
        ctx = detection_context(workspace_id=run.data_source.workspace_id, rule_set=run.scan.rule_set,
                                detect=run.scan.rule_set.detection_enabled)
        tables = (Asset.objects.filter(pk__in=table_ids, removed_at__isnull=True)
                  .only("pk", "name", "qualified_name", "data_source_id", "row_count").order_by("qualified_name"))
        _detect_plan(run, [(table, None) for table in tables], ctx, secrets, resume=True)


# --- on demand ---------------------------------------------------------------------------------------------------

def _has_table(asset: Asset) -> bool:
    return asset.type != Asset.Type.COLUMN or (asset.parent is not None
                                                and asset.parent.type in ON_DEMAND_TABLE_TYPES)


def _targets(asset: Asset) -> tuple[list[Asset], list[int] | None]:
    """(tables to read, the one column to detect or None for all columns)."""
    if asset.type == Asset.Type.COLUMN:
        if not _has_table(asset):
            raise ValidationError({"assets": ["This column has no table to sample."]})
        return [asset.parent], [asset.pk]
    if asset.type in ON_DEMAND_TABLE_TYPES:
        return [asset], None
    # A schema's tables are its children, a database's two levels down, a data source's (its own asset) three.
    tables = (Asset.objects.filter(Q(parent=asset) | Q(parent__parent=asset) | Q(parent__parent__parent=asset),
                                   data_source_id=asset.data_source_id, type__in=SCANNED_TABLE_TYPES,
                                   removed_at__isnull=True)
              .only("pk", "name", "qualified_name", "data_source_id", "row_count").order_by("qualified_name"))
    return list(tables), None


def detection_plan(assets) -> list[tuple[Asset, list[int] | None]]:
    """The tables to read for ``assets`` (columns, tables or views, schemas, databases, sources) and, per table, the
    columns to detect (None: all of them), in qualified-name order. A table asked for whole absorbs any of its
    columns asked for too."""
    wanted: dict[int, tuple[Asset, set[int] | None]] = {}
    for asset in assets:
        tables, column_ids = _targets(asset)
        for table in tables:
            _, known = wanted.get(table.pk, (table, set()))
            columns = None if column_ids is None or known is None else known | set(column_ids)
            wanted[table.pk] = (table, columns)
    return [(table, None if columns is None else sorted(columns))
            for table, columns in sorted(wanted.values(), key=lambda item: item[0].qualified_name)]


def may_classify_all(user, asset_ids) -> bool:
    """May ``user`` classify every one of these assets? One query, whatever their number."""
    wanted = set(asset_ids)
    return bool(wanted) and asset_list(user=user, action="classify").filter(pk__in=wanted).count() == len(wanted)


def check_detection_targets(assets: list[Asset],
                            acting_user: User | SystemActor) -> list[tuple[Asset, list[int] | None]]:
    """Authorise (``classify`` on every asset, before anything connects) and validate a request for detection on
    demand; returns its plan."""
    if not assets:
        raise ValidationError({"assets": ["Name at least one asset."]})
    if len(assets) > MAX_DETECT_ASSETS:
        raise ValidationError({"assets": [f"At most {MAX_DETECT_ASSETS} assets at a time: ask for their table, "
                                          "schema or database instead."]})
    authorize(acting_user, lambda: may_classify_all(acting_user, [asset.pk for asset in assets]))
    if len({asset.data_source_id for asset in assets}) > 1:
        raise ValidationError({"assets": ["Detection runs on one data source at a time: these assets belong to "
                                          "several."]})
    if any(asset.removed_at is not None for asset in assets):
        raise ValidationError({"assets": ["This asset is no longer in the source."]})
    plan = detection_plan(assets)
    if not plan:
        raise ValidationError({"assets": ["There is no table to sample under this asset: scan the source first."]})
    return plan


def detection_on_demand(*, scan_run_id: int, final_attempt: bool = True, retry_in: float = 0.0) -> None:
    """Execute a detection run asked for on demand (``ScanRun.Trigger.DETECTION``): claim it, detect on its
    targets with the rule set of the source's first scan (if any), then end it. Only the caller that claims the
    queued run works on it, from the start (a retry resets the counters: column-level work leaves no marker to
    resume from); an unreachable source hands the run back to the queue for the task's retry (due in ``retry_in``
    s) unless this is the final attempt or a cancel was asked for.
    """
    if not runs.claim(ScanRun, scan_run_id, phase=DETECTION_PHASE, trigger=ScanRun.Trigger.DETECTION):
        logger.info("detection run not claimed (already taken or finished)", extra={"scan_run": scan_run_id})
        return
    run = ScanRun.objects.select_related("data_source").get(pk=scan_run_id)
    secrets: list[str] = []
    with _run_outcome(run, final_attempt=final_attempt, secrets=secrets,
                      hand_back=partial(runs.hand_back, ScanRun, run.pk, retry_in=retry_in)):
        # What is still there to read: a target removed, or a column whose table became something else since the
        # request, is left out; the others are still read.
        plan = detection_plan(asset for asset in Asset.objects.filter(
            pk__in=run.targets, data_source_id=run.data_source_id, removed_at__isnull=True).select_related("parent")
            if _has_table(asset))
        if not plan:
            runs.finish(ScanRun, run.pk, ScanRun.Status.FAILED,
                        error="Nothing left to sample: the assets asked for are no longer tables or columns of the "
                              "source.")
            return
        ScanRun.objects.filter(pk=run.pk).update(progress_total=len(plan))
        scan = run.data_source.scans.select_related("rule_set").order_by("pk").first()
        ctx = detection_context(workspace_id=run.data_source.workspace_id,
                                rule_set=scan.rule_set if scan is not None else None)
        _detect_plan(run, plan, ctx, secrets, resume=False)
