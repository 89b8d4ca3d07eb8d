"""deploy/: the Grafana dashboard and the Prometheus alert rules only use metrics Racine exports."""
import json
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "racine-dashboard.json"
RULES = DEPLOY / "prometheus" / "racine-alerts.yml"
METRIC_NAME = re.compile(r"\b(?:racine|django)_[a-z0-9_]+\b")

pytestmark = pytest.mark.django_db


@pytest.fixture
def exported_names(client, settings) -> set[str]:
    """Every family and sample name /metrics serves (a counter's family and its ``_total`` sample, a histogram's
    ``_bucket``, ``_sum`` and ``_count``), after one API request so django-prometheus's request series exist."""
    settings.RACINE_METRICS_CACHE_SECONDS = 0
    client.get("/health/live")
    body = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    names = set()
    for family in text_string_to_metric_families(body):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        if family.type == "counter":
            names.add(f"{family.name}_total")
        if family.type == "histogram":
            names.update(f"{family.name}{suffix}" for suffix in ("_bucket", "_sum", "_count"))
    return names


def dashboard_panels() -> list[dict]:
    return [panel for panel in json.loads(DASHBOARD.read_text())["panels"] if panel["type"] != "row"]


def rule_expressions() -> dict[str, str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"]: rule["expr"] for group in groups for rule in group["rules"]}


def test_every_dashboard_panel_queries_metrics_that_exist(exported_names):
    missing = {}
    for panel in dashboard_panels():
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            unknown = set(METRIC_NAME.findall(target["expr"])) - exported_names
            if unknown:
                missing[panel["title"]] = sorted(unknown)
    assert missing == {}


def test_every_alert_rule_uses_metrics_that_exist(exported_names):
    missing = {alert: sorted(set(METRIC_NAME.findall(expr)) - exported_names)
               for alert, expr in rule_expressions().items()}
    assert {alert: names for alert, names in missing.items() if names} == {}


def test_the_dashboard_reads_its_data_source_from_a_variable():
    dashboard = json.loads(DASHBOARD.read_text())
    assert [variable["name"] for variable in dashboard["templating"]["list"]] == ["datasource"]
    assert {panel["datasource"]["uid"] for panel in dashboard_panels()} == {"${datasource}"}
    grid = [tuple(panel["gridPos"].values()) for panel in dashboard["panels"]]
    assert len(grid) == len(set(grid))


# The only racine_* series counted in each process; every other racine_* figure is read from the database or the
# shared cache, so it is the same from every scraped process and summing it over instances multiplies it.
PER_PROCESS_RACINE_METRICS = {"racine_cache_unavailable_total"}


def test_dashboard_does_not_sum_figures_every_process_reports_alike():
    summed = {target["expr"] for panel in dashboard_panels() for target in panel["targets"]
              if re.search(r"\bsum\b", target["expr"])
              and {name for name in METRIC_NAME.findall(target["expr"]) if name.startswith("racine_")}
              - PER_PROCESS_RACINE_METRICS}
    assert summed == set()


# Grafana's unit ids this dashboard may use; its date-time units read Unix time in milliseconds.
GRAFANA_UNITS = {"short", "s", "dateTimeAsIso"}
GRAFANA_DATE_UNITS = {"dateTimeAsIso"}


def test_dashboard_units_are_grafana_units_and_timestamps_are_in_milliseconds():
    for panel in dashboard_panels():
        field_config = panel["fieldConfig"]
        units = {field_config["defaults"]["unit"]} | {
            item["value"] for override in field_config["overrides"] for item in override["properties"]
            if item["id"] == "unit"}
        assert units <= GRAFANA_UNITS, panel["title"]
        if units & GRAFANA_DATE_UNITS:
            assert all(target["expr"].endswith("* 1000") for target in panel["targets"]), panel["title"]
