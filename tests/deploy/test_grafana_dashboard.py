"""deploy/grafana/docflow-sla.json: parses, has the SLA panels, and reads only metrics
Docflow exports (so a renamed metric breaks this test, not the dashboard in silence)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.deploy.deploy_schemas import ROOT
from tests.deploy.promql import ALLOWED, COUNTERS, GAUGES, HISTOGRAMS, metric_names

DASHBOARD = ROOT / "deploy" / "grafana" / "docflow-sla.json"


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for panel in dashboard["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))  # collapsed rows keep theirs inside
    return out


def queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, PromQL) of every target, and of the template variables."""
    out = [
        (panel["title"], target["expr"])
        for panel in panels(dashboard)
        for target in panel.get("targets", [])
    ]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            label_values = re.fullmatch(r"label_values\((\w+),\s*\w+\)", variable["definition"])
            assert label_values, variable["definition"]
            out.append((f"${variable['name']}", label_values.group(1)))
    return out


def test_promql_metric_names_finds_metrics_and_only_metrics() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le, route) (rate(foo_seconds_bucket{status=~"5..",'
        ' route!="x"}[$__rate_interval]))) / ignoring(job) bar_total offset 5m > bool 1e3'
    )
    assert metric_names(expr) == {"foo_seconds_bucket", "bar_total"}
    assert metric_names("max by (service) (docflow_open_tasks)") == {"docflow_open_tasks"}


def test_the_metric_list_matches_the_code() -> None:
    """Every metric the dashboard may read is declared in the code, with that type."""
    sources = "\n".join(
        path.read_text()
        for path in (ROOT / "services" / "metrics.py", ROOT / "gateway" / "observability.py")
    )
    declared = {
        kind: set(re.findall(rf'{kind}\(\s*"(docflow_\w+)"', sources))
        for kind in ("Counter", "Gauge", "Histogram")
    }
    assert declared["Counter"] >= COUNTERS, COUNTERS - declared["Counter"]
    assert declared["Gauge"] >= GAUGES, GAUGES - declared["Gauge"]
    assert declared["Histogram"] >= HISTOGRAMS, HISTOGRAMS - declared["Histogram"]


def test_dashboard_is_a_grafana_dashboard(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] == "docflow-sla"
    assert dashboard["title"]
    assert isinstance(dashboard["schemaVersion"], int)
    ids = [panel["id"] for panel in panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    for panel in panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["targets"], panel["title"]
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        for target in panel["targets"]:
            used = set(re.findall(r"\$(\w+)", target["expr"])) - {"__rate_interval"}
            assert used <= variables, f"{panel['title']}: undefined {used - variables}"


def test_dashboard_reads_only_exported_metrics(dashboard: dict[str, Any]) -> None:
    found = queries(dashboard)
    assert len(found) >= 10
    for title, expr in found:
        names = metric_names(expr)
        assert names, f"{title}: no metric in {expr}"
        assert names <= ALLOWED, f"{title}: unknown metrics {names - ALLOWED} in {expr}"


@pytest.mark.parametrize(
    ("needle", "metric"),
    [
        ("waiting tasks", "docflow_open_tasks"),
        ("overdue tasks", "docflow_overdue_tasks"),
        ("decision latency p50", "docflow_task_decision_seconds_bucket"),
        ("decision latency p99", "docflow_task_decision_seconds_bucket"),
        ("entrypoint latency p99", "docflow_entrypoint_latency_seconds_bucket"),
        ("entrypoint error rate", "docflow_entrypoint_errors_total"),
        ("outbox: events published", "docflow_outbox_published_total"),
        ("outbox: relay failures", "docflow_outbox_relay_failures_total"),
        ("http requests per second", "docflow_http_requests_total"),
        ("http p99", "docflow_http_request_seconds_bucket"),
    ],
)
def test_dashboard_has_the_sla_panels(dashboard: dict[str, Any], needle: str, metric: str) -> None:
    matching = [p for p in panels(dashboard) if needle in p["title"].lower()]
    assert matching, f"no panel titled like {needle!r}"
    exprs = [t["expr"] for p in matching for t in p["targets"]]
    assert any(metric in metric_names(e) for e in exprs), f"{needle}: does not read {metric}"
    if "p99" in needle or "p50" in needle:
        quantile = "0.99" if "p99" in needle else "0.5"
        assert any(f"histogram_quantile({quantile}," in e for e in exprs), needle
    if "per process and step" in " ".join(p["title"].lower() for p in matching):
        assert all("process" in e and "step" in e for e in exprs), needle
