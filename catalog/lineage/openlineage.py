"""Lineage from OpenLineage run events (https://openlineage.io/spec/2-0-2/OpenLineage.json), as Airflow, Spark,
dbt, Flink and others send them to ``POST /api/v1/openlineage/``.

Which events record what:

- ``COMPLETE``: the job's lineage is what this run read and wrote: its edges (key: the job's namespace and name)
  are **replaced** by this event's (``lineage_edges_replace``), so a job that stops reading a table stops showing
  that edge after its next completed run.
- ``RUNNING`` with outputs: **merged** into the job's edges (``lineage_edges_merge``): a streaming or long job's
  lineage shows before it ends (some never complete); its ``COMPLETE`` replaces them.
- ``START``, ``FAIL``, ``ABORT``, ``OTHER``, and ``RUNNING`` without outputs: acknowledged, nothing recorded — a
  start may list datasets the run never reaches, a failed run may have written nothing.

An event older (``eventTime``) than one the job's current lineage was recorded from is not applied (``stale``): a
retried delivery arriving late cannot bring back an older run's lineage. The same event sent again records nothing
new: the edges are the same, and the event is kept once (its canonical JSON's hash) as the edges' record.

Datasets map to the catalog as SQL's names do (``catalog.lineage.services.tables_matching``): the data sources
answering to the dataset's namespace (``sources.openlineage``) among those the sender may view, then their table or
view whose qualified name ends with the dataset's name (``shop.public.orders``), the same case first and then any
case; fields to that table's columns by name. A dataset matching none (or several) is an external asset of the
workspace, with the fields its ``schema`` facet lists. Table edges go from every input to every output (and from the
datasets the column lineage names); column edges from the ``columnLineage`` facet's input fields, ``direct`` when a
transformation is ``DIRECT``/``IDENTITY`` without masking (or, in facets before 1-1-0, ``transformationType``
``IDENTITY``); an input field reached only by ``INDIRECT`` transformations (a filter, a join key, a grouping) makes no
column edge, as a column used only in WHERE makes none from SQL.
"""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.dateparse import parse_datetime

from accounts.actors import SYSTEM, SystemActor
from accounts.models import User, Workspace
from accounts.selectors import workspaces_allowing
from catalog.lineage.services import (
    ExternalName,
    Flow,
    MergeResult,
    columns_matching,
    lineage_edges_merge,
    lineage_edges_replace,
    tables_matching,
)
from catalog.models import LineageEdge, LineageOrigin, LineageRecord
from sources.models import DataSource
from sources.openlineage import namespace_normalized, namespaces_in_use
from sources.selectors import datasource_list

EVENT_TYPES = ("START", "RUNNING", "COMPLETE", "FAIL", "ABORT", "OTHER")
MAX_EVENTS = 100  # per request: a batch is all or nothing, in one transaction
MAX_KEY_LENGTH = LineageEdge._meta.get_field("origin_key").max_length


@dataclass
class EventOutcome:
    run_id: str
    event_type: str
    job: str
    outcome: str  # recorded | ignored | stale
    workspace: Workspace | None = None
    table_edges: int = 0
    column_edges: int = 0
    result: MergeResult | None = None


def job_key(namespace: str, name: str) -> str:
    """The origin key of a job's edges: ``<namespace>/<name>``; past the column's length, its start and a hash."""
    key = f"{namespace}/{name}"
    if len(key) <= MAX_KEY_LENGTH:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[:MAX_KEY_LENGTH - len(digest) - 1]}#{digest}"


def event_text(event: dict) -> str:
    """The event as kept: canonical JSON, so that the same event re-sent with its keys in another order is the same
    text (and record)."""
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def lineage_openlineage_record(*, events: list[dict], workspace: Workspace | None = None,
                               acting_user: User | SystemActor) -> list[EventOutcome]:
    """Record the lineage of OpenLineage run ``events`` (shape-checked already: the API's serializer), all or
    nothing. Each recorded event goes to ``workspace`` if given, else to the workspace of the data sources its
    outputs (else its inputs) match, else to the only workspace the sender may record lineage in; a ValidationError
    on ``workspace`` when that is not one. Needs the right to record lineage there (``add`` and ``change`` on lineage
    edges)."""
    with transaction.atomic():
        sources = _Sources(acting_user)
        return [_record_event(event, workspace=workspace, sources=sources, acting_user=acting_user)
                for event in events]


def _how_recorded(event: dict) -> str | None:
    """How ``event`` is recorded: ``replace``, ``merge``, or None."""
    if event.get("eventType") == "COMPLETE":
        return "replace"
    if event.get("eventType") == "RUNNING" and event.get("outputs"):
        return "merge"
    return None


def _record_event(event: dict, *, workspace, sources: _Sources, acting_user) -> EventOutcome:
    job = event["job"]
    outcome = EventOutcome(run_id=event["run"]["runId"], event_type=event.get("eventType") or "OTHER",
                           job=f"{job['namespace']}/{job['name']}", outcome="ignored")
    how = _how_recorded(event)
    if how is None:
        return outcome
    outcome.workspace = workspace or sources.workspace_for(event)
    # Only the data sources of the workspace recording the event are matched: a dataset of another workspace's
    # source, even one the sender may see, is an external node there, not an edge into assets that workspace's
    # stewards could neither see nor remove.
    mapping = _Mapping(event, sources.within(outcome.workspace))
    key = job_key(job["namespace"], job["name"])
    if _is_stale(outcome.workspace, key, event["eventTime"]):
        outcome.outcome = "stale"
        return outcome
    write = lineage_edges_replace if how == "replace" else lineage_edges_merge
    flows = mapping.flows()
    outcome.result = write(workspace=outcome.workspace, origin=LineageOrigin.OPENLINEAGE, origin_key=key,
                           flows=flows, text=event_text(event), external_names=mapping.external_names,
                           acting_user=acting_user)
    outcome.outcome = "recorded"
    outcome.table_edges = sum(flow.level == LineageEdge.Level.TABLE for flow in flows)
    outcome.column_edges = len(flows) - outcome.table_edges
    return outcome


def _is_stale(workspace: Workspace, key: str, event_time: str) -> bool:
    """Whether the job's current lineage was recorded from an event later than ``event_time``: the events its edges
    refer to are its records (those no edge refers to are deleted on replace)."""
    this = _instant(event_time)
    texts = LineageRecord.objects.filter(workspace=workspace, origin=LineageOrigin.OPENLINEAGE,
                                         origin_key=key).values_list("text", flat=True)
    for text in texts:
        try:
            recorded = _instant(json.loads(text).get("eventTime", ""))
        except (ValueError, AttributeError):
            continue
        if recorded is not None and this is not None and recorded > this:
            return True
    return False


def _instant(value: str) -> datetime | None:
    try:
        parsed = parse_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed is not None and parsed.tzinfo is not None else None


class _Sources:
    """The data sources the sender may view, by the namespaces they answer to (one query), and the workspaces
    the sender may record lineage in (asked once, when an event matches no source)."""

    def __init__(self, acting_user):
        self.acting_user = acting_user
        visible = DataSource.objects.all() if acting_user is SYSTEM else datasource_list(user=acting_user)
        self.by_namespace: dict[str, list[DataSource]] = {}
        for source in visible.only("pk", "workspace", "engine", "host", "port", "options",
                                   "openlineage_namespaces").select_related("workspace"):
            for namespace in namespaces_in_use(source):
                self.by_namespace.setdefault(namespace, []).append(source)
        self._writable: list[Workspace] | None = None

    def answering(self, namespace: str) -> list[DataSource]:
        return self.by_namespace.get(namespace_normalized(namespace), [])

    def within(self, workspace: Workspace) -> _Sources:
        """These sources narrowed to those of ``workspace``."""
        narrowed = copy.copy(self)
        narrowed.by_namespace = {namespace: [source for source in sources if source.workspace_id == workspace.pk]
                                 for namespace, sources in self.by_namespace.items()}
        return narrowed

    def workspace_for(self, event: dict) -> Workspace:
        for datasets in (event.get("outputs") or [], event.get("inputs") or []):
            workspaces = {source.workspace for dataset in datasets for source in self.answering(dataset["namespace"])}
            if len(workspaces) == 1:
                return workspaces.pop()
            if workspaces:
                names = ", ".join(sorted(workspace.name for workspace in workspaces))
                raise ValidationError({"workspace": f"The event's datasets are in data sources of several workspaces "
                                                    f"({names}): choose one with ?workspace=<id>."})
        writable = self._writable_workspaces()
        if len(writable) == 1:
            return writable[0]
        raise ValidationError({"workspace": "No data source you may see answers to the event's namespaces, and you "
                                            "may record lineage in more than one workspace: choose one with "
                                            "?workspace=<id> (or declare the namespaces on a data source)."})

    def _writable_workspaces(self) -> list[Workspace]:
        if self._writable is None:
            self._writable = [] if self.acting_user is SYSTEM else list(
                workspaces_allowing(user=self.acting_user, perm="catalog.add_lineageedge")[:2])
        return self._writable


class _Mapping:
    """One event's datasets and fields as catalog assets or external names, and the flows between them."""

    def __init__(self, event: dict, sources: _Sources):
        self.event = event
        self.sources = sources
        self.inputs = [(dataset["namespace"], dataset["name"]) for dataset in event.get("inputs") or []]
        self.outputs = [(dataset["namespace"], dataset["name"]) for dataset in event.get("outputs") or []]
        self.column_inputs = {output: list(_column_inputs(dataset))
                              for output, dataset in zip(self.outputs, event.get("outputs") or [], strict=True)}
        datasets = set(self.inputs) | set(self.outputs) | {
            (ns, name) for fields in self.column_inputs.values() for _out, (ns, name, _f), _d in fields}
        self.tables: dict[tuple[str, str], int] = {}
        for namespace in {namespace for namespace, _name in datasets}:
            answering = [source.pk for source in sources.answering(namespace)]
            if answering:
                self.tables.update(tables_matching(answering, {
                    dataset: dataset[1].split(".") for dataset in datasets if dataset[0] == namespace}))
        wanted_columns = {(ns, name, field): ((ns, name), field) for fields in self.column_inputs.values()
                          for _out, (ns, name, field), _direct in fields}
        wanted_columns.update({(*output, out_field): (output, out_field) for output, fields in
                               self.column_inputs.items() for out_field, _source, _direct in fields})
        self.columns = columns_matching(self.tables, wanted_columns)
        self.external_names: set[ExternalName] = set()
        for dataset in [*(event.get("inputs") or []), *(event.get("outputs") or [])]:
            end = self._table_end(dataset["namespace"], dataset["name"])
            if isinstance(end, ExternalName):
                self.external_names.add(end)
                self.external_names.update(ExternalName(end.namespace, end.name, field["name"], end.data_source_id)
                                           for field in _schema_fields(dataset))

    def _data_source_id(self, namespace: str) -> int | None:
        answering = self.sources.answering(namespace)
        return answering[0].pk if len(answering) == 1 else None

    def _table_end(self, namespace: str, name: str) -> int | ExternalName:
        if (namespace, name) in self.tables:
            return self.tables[(namespace, name)]
        return ExternalName(namespace, name, "", self._data_source_id(namespace))

    def _column_end(self, namespace: str, name: str, field: str) -> int | ExternalName | None:
        table = self._table_end(namespace, name)
        if isinstance(table, ExternalName):
            return ExternalName(namespace, name, field, table.data_source_id)
        # A field the catalog does not hold on a table it does (added since the last scan): left out, not invented.
        return self.columns.get((namespace, name, field))

    def flows(self) -> list[Flow]:
        flows = []
        for output in self.outputs:
            target = self._table_end(*output)
            sources = dict.fromkeys([*self.inputs, *((ns, name) for _out, (ns, name, _f), _d in
                                                     self.column_inputs[output])])
            flows.extend(Flow(self._table_end(*source), target, LineageEdge.Level.TABLE) for source in sources)
            for out_field, (ns, name, field), direct in self.column_inputs[output]:
                ends = self._column_end(ns, name, field), self._column_end(*output, out_field)
                if None not in ends:
                    flows.append(Flow(*ends, LineageEdge.Level.COLUMN, direct=direct))
        return flows


def _schema_fields(dataset: dict) -> list[dict]:
    return ((dataset.get("facets") or {}).get("schema") or {}).get("fields") or []


def _column_inputs(dataset: dict):
    """``(output field, (namespace, name, input field), direct)`` for each input field of the dataset's
    ``columnLineage`` facet that makes a column edge."""
    fields = ((dataset.get("facets") or {}).get("columnLineage") or {}).get("fields") or {}
    for out_field, spec in fields.items():
        legacy = (spec.get("transformationType") or "").upper()
        for input_field in spec.get("inputFields") or []:
            transformations = input_field.get("transformations") or []
            if transformations and not any(t["type"].upper() == "DIRECT" for t in transformations):
                continue  # only INDIRECT: a filter, a join key, a grouping — no value flows
            if transformations:
                direct = any(t["type"].upper() == "DIRECT" and (t.get("subtype") or "").upper() == "IDENTITY"
                             and not t.get("masking") for t in transformations)
            else:
                direct = legacy == "IDENTITY"
            yield out_field, (input_field["namespace"], input_field["name"], input_field["field"]), direct
