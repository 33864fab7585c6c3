"""The metric names a PromQL expression reads, for the dashboard and alert checks.

Not a PromQL parser: it removes what cannot be a metric name (strings, label
matchers, ranges, grouping label lists, Grafana variables, numbers) and keeps the
identifiers that are not followed by "(" (functions, aggregations) and are not
keywords. Good enough for the expressions we write, and tested on its own.
"""

from __future__ import annotations

import re

KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "inf",
    "nan",
}

#: The metrics Docflow exports, by type (services/metrics.py, gateway/observability.py).
COUNTERS = {
    "docflow_entrypoint_calls_total",
    "docflow_entrypoint_errors_total",
    "docflow_outbox_published_total",
    "docflow_outbox_relay_failures_total",
    "docflow_timers_fired_total",
    "docflow_http_requests_total",
}
GAUGES = {"docflow_open_tasks", "docflow_overdue_tasks"}
HISTOGRAMS = {
    "docflow_task_decision_seconds",
    "docflow_entrypoint_latency_seconds",
    "docflow_http_request_seconds",
}
#: What a query may read: the series Prometheus stores for each of the above.
ALLOWED = (
    COUNTERS
    | GAUGES
    | {f"{h}{suffix}" for h in HISTOGRAMS for suffix in ("_bucket", "_sum", "_count")}
)


def metric_names(expr: str) -> set[str]:
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # range selectors
    text = re.sub(
        r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text
    )  # grouping label lists
    text = re.sub(r"\$\{?\w+\}?", " ", text)  # Grafana variables
    names = set()
    for match in re.finditer(r"(?<![\w.])[A-Za-z_:][A-Za-z0-9_:]*", text):
        if text[match.end() :].lstrip().startswith("("):
            continue  # a function or an aggregation
        if match.group(0).lower() in KEYWORDS:
            continue
        names.add(match.group(0))
    return names
