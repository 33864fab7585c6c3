"""The prod overlay (k8s/overlays/prod): scaling, the operators' custom resources,
monitoring, and how the services' settings point at what the operators create.

Custom resources are validated against the operators' own CRD schemas (from the
datreeio CRDs-catalog, fetched and sha256-checked by scripts/install-deploy-tools.sh).
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from services.config import SERVICES, database_name
from tests.deploy import deploy_schemas
from tests.deploy.deploy_schemas import ROOT, Tools
from tests.deploy.manifests import (
    containers,
    k8s_name,
    main_container,
    of_kind,
    pod_labels,
    selects,
)
from tests.deploy.promql import ALLOWED, metric_names

Objects = list[dict[str, Any]]


@pytest.fixture(scope="module")
def prod(rendered: dict[str, Objects]) -> Objects:
    return rendered["prod"]


def custom_resources(objects: Objects) -> Objects:
    return [o for o in objects if not deploy_schemas.is_builtin(o)]


def env_secret(container: dict[str, Any], name: str) -> tuple[str, str]:
    """(Secret name, key) a container's variable comes from."""
    [env] = [e for e in container.get("env", []) if e["name"] == name]
    ref = env["valueFrom"]["secretKeyRef"]
    return ref["name"], ref["key"]


def configmap_value(objects: Objects, container: dict[str, Any], key: str) -> str:
    configmaps = of_kind(objects, "ConfigMap")
    found = [
        configmaps[s["configMapRef"]["name"]]["data"][key]
        for s in container.get("envFrom", [])
        if key in configmaps[s["configMapRef"]["name"]].get("data", {})
    ]
    assert found, f"{key} not set for {container['name']}"
    return str(found[-1])


# ---------------------------------------------------------------------------- schemas


def test_custom_resources_validate_against_the_operators_crds(tools: Tools, prod: Objects) -> None:
    crs = custom_resources(prod)
    kinds = {o["kind"] for o in crs}
    assert {
        "RabbitmqCluster",
        "Vhost",
        "User",
        "Permission",
        "Cluster",
        "Database",
        "ScheduledBackup",
        "Tenant",
        "ServiceMonitor",
        "PrometheusRule",
    } <= kinds
    errors = deploy_schemas.validate_custom_resources(tools, crs)
    assert not errors, "custom resources break their CRD schemas:\n" + "\n".join(errors)


@pytest.mark.parametrize(
    ("kind", "path", "value", "complaint"),
    [
        ("Cluster", ["spec", "instances"], "three", "is not of type 'integer'"),
        ("Tenant", ["spec", "requestAutoCerts"], False, "Additional properties"),
        ("ScheduledBackup", ["spec", "method"], "pg_dump", "is not one of"),
        ("ServiceMonitor", ["spec", "endpoints", 0, "portName"], "metrics", "Additional"),
        ("Vhost", ["spec", "defaultQueueType"], "mirrored", "is not one of"),
        ("RabbitmqCluster", ["kind"], "RabbitMQCluster", "was expected"),
    ],
)
def test_crd_validation_bites(
    tools: Tools, prod: Objects, kind: str, path: list[Any], value: Any, complaint: str
) -> None:
    obj = json.loads(json.dumps(next(o for o in custom_resources(prod) if o["kind"] == kind)))
    if kind == "RabbitmqCluster":  # a wrong kind must not find another kind's schema
        schema = deploy_schemas.crd_schema(tools, obj["apiVersion"], kind)
        obj["kind"] = value
        errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(obj)]
        assert any(complaint in e for e in errors), errors
        return
    target = obj
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    errors = deploy_schemas.validate_custom_resources(tools, [obj])
    assert any(complaint in e for e in errors), errors


# ---------------------------------------------------------------------------- scaling


def test_every_deployment_has_an_hpa_and_a_pdb(prod: Objects) -> None:
    deployments = of_kind(prod, "Deployment")
    hpas = of_kind(prod, "HorizontalPodAutoscaler")
    pdbs = of_kind(prod, "PodDisruptionBudget")
    assert set(deployments) == {k8s_name(s) for s in (*SERVICES, "gateway")}
    assert all(h["apiVersion"] == "autoscaling/v2" for h in hpas.values())
    assert all(p["apiVersion"] == "policy/v1" for p in pdbs.values())

    for name, deployment in deployments.items():
        assert deployment["spec"]["replicas"] >= 2, name
        labels = pod_labels(deployment)

        scaling = [
            h
            for h in hpas.values()
            if h["spec"]["scaleTargetRef"]
            == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        ]
        assert len(scaling) == 1, f"{name}: {len(scaling)} HPAs"
        [hpa] = scaling
        assert hpa["spec"]["minReplicas"] >= 2, name
        assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"], name
        assert hpa["spec"]["metrics"], name
        # Utilization needs requests on every container of the pod.
        for c in containers(deployment):
            assert "cpu" in c["resources"]["requests"], f"{name}/{c['name']}"

        budgets = [p for p in pdbs.values() if selects(p["spec"]["selector"], labels)]
        assert len(budgets) == 1, f"{name}: {len(budgets)} PDBs select its pods"
        [pdb] = budgets
        assert pdb["spec"]["selector"].get("matchLabels") or pdb["spec"]["selector"].get(
            "matchExpressions"
        ), f"{pdb['metadata']['name']}: an empty selector selects every pod"
        assert pdb["spec"].get("maxUnavailable") == 1 or (
            0 < pdb["spec"].get("minAvailable", 0) < hpa["spec"]["minReplicas"]
        ), f"{name}: the budget must let a drain proceed"
        # ... and only these pods: not another Deployment's, not a migration Job's.
        for other_name, other in {**deployments, **of_kind(prod, "Job")}.items():
            if other_name != name:
                assert not selects(pdb["spec"]["selector"], pod_labels(other)), other_name


# ---------------------------------------------------------------------------- monitoring


def test_every_service_monitor_selects_a_service_port(prod: Objects) -> None:
    services = of_kind(prod, "Service")
    monitors = of_kind(prod, "ServiceMonitor")
    scraped = set()
    for name, monitor in monitors.items():
        selector = monitor["spec"]["selector"]
        assert selector.get("matchLabels"), name
        namespaces = monitor["spec"].get("namespaceSelector", {}).get("matchNames")
        chosen = [
            s
            for s in services.values()
            if selects(selector, s["metadata"].get("labels", {}))
            and (namespaces is None or s["metadata"]["namespace"] in namespaces)
            and s["metadata"]["namespace"] == monitor["metadata"]["namespace"]
        ]
        assert len(chosen) == 1, f"ServiceMonitor {name} selects {len(chosen)} Services"
        [service] = chosen
        port_names = {p["name"] for p in service["spec"]["ports"]}
        for endpoint in monitor["spec"]["endpoints"]:
            assert endpoint["port"] in port_names, f"{name}: no port {endpoint['port']}"
            assert endpoint.get("path", "/metrics") == "/metrics"
        scraped.add(service["metadata"]["name"])
    assert scraped == {k8s_name(s) for s in (*SERVICES, "gateway")}


def test_alert_rules_read_only_exported_metrics(prod: Objects) -> None:
    [rules] = of_kind(prod, "PrometheusRule").values()
    exprs = [r["expr"] for g in rules["spec"]["groups"] for r in g["rules"]]
    assert len(exprs) >= 5
    for expr in exprs:
        names = metric_names(expr)
        assert names, expr
        # `up` is Prometheus's own per-target series.
        assert names <= ALLOWED | {"up"}, f"unknown metrics {names - ALLOWED} in {expr}"


def test_dashboard_ships_as_a_configmap(prod: Objects) -> None:
    dashboards = [
        c
        for c in of_kind(prod, "ConfigMap").values()
        if c["metadata"].get("labels", {}).get("grafana_dashboard") == "1"
    ]
    assert len(dashboards) == 1
    [configmap] = dashboards
    source = (ROOT / "deploy" / "grafana" / "docflow-sla.json").read_text()
    assert configmap["data"] == {"docflow-sla.json": source}
    json.loads(configmap["data"]["docflow-sla.json"])


# ---------------------------------------------------------------------------- operators


def test_rabbitmq_cluster_and_the_amqp_secret(prod: Objects) -> None:
    [cluster] = of_kind(prod, "RabbitmqCluster").values()
    assert cluster["spec"]["replicas"] == 3
    name = cluster["metadata"]["name"]
    [vhost] = of_kind(prod, "Vhost").values()
    [user] = of_kind(prod, "User").values()
    [permission] = of_kind(prod, "Permission").values()
    assert vhost["spec"]["defaultQueueType"] == "quorum"
    for obj in (vhost, user, permission):
        assert obj["spec"]["rabbitmqClusterReference"] == {"name": name}
    assert permission["spec"]["vhost"] == vhost["spec"]["name"]
    assert permission["spec"]["userReference"] == {"name": user["metadata"]["name"]}
    # The operator creates the user from the Secret the services take their URI from.
    for deployment in of_kind(prod, "Deployment").values():
        secret, key = env_secret(main_container(deployment), "DOCFLOW_AMQP_URI")
        assert (secret, key) == (user["spec"]["importCredentialsSecret"]["name"], "uri")


def test_postgres_cluster_roles_databases_and_backups(prod: Objects) -> None:
    [cluster] = of_kind(prod, "Cluster").values()
    assert cluster["spec"]["instances"] == 3
    name = cluster["metadata"]["name"]
    store = cluster["spec"]["backup"]["barmanObjectStore"]
    assert store["destinationPath"].startswith("s3://")
    assert cluster["spec"]["backup"]["retentionPolicy"]
    [scheduled] = of_kind(prod, "ScheduledBackup").values()
    assert scheduled["spec"]["cluster"] == {"name": name}
    assert scheduled["spec"]["method"] == "barmanObjectStore"
    assert len(scheduled["spec"]["schedule"].split()) == 6, "CNPG schedules have seconds"

    roles = {r["name"]: r for r in cluster["spec"]["managed"]["roles"]}
    databases = {d["spec"]["name"]: d for d in of_kind(prod, "Database").values()}
    deployments = of_kind(prod, "Deployment")
    for svc in SERVICES:
        wanted = database_name("docflow", svc)
        database = databases[wanted]
        assert database["spec"]["cluster"] == {"name": name}
        assert database["spec"]["owner"] == wanted
        assert database["spec"]["databaseReclaimPolicy"] == "retain"
        role = roles[wanted]
        assert role["login"] is True and not role.get("superuser")
        # The role's password is the Secret the service reads its URL from.
        secret, key = env_secret(main_container(deployments[k8s_name(svc)]), "DOCFLOW_DATABASE_URL")
        assert (role["passwordSecret"]["name"], key) == (secret, "uri")
    assert set(databases) == {database_name("docflow", s) for s in SERVICES}


def test_minio_tenant_and_the_s3_settings(prod: Objects) -> None:
    [tenant] = of_kind(prod, "Tenant").values()
    [pool] = tenant["spec"]["pools"]
    assert pool["servers"] * pool["volumesPerServer"] >= 4, "erasure coding needs 4 drives"
    deployments = of_kind(prod, "Deployment")
    for name in ("archive-svc", "gateway"):
        main = main_container(deployments[name])
        # The operator's S3 Service is "minio": port 443 with TLS, 80 without.
        port = "80" if tenant["spec"]["requestAutoCert"] is False else "443"
        assert configmap_value(prod, main, "DOCFLOW_S3_ENDPOINT") == f"minio:{port}"
        assert configmap_value(prod, main, "DOCFLOW_S3_SECURE") == str(port == "443").lower()
        bucket = configmap_value(prod, main, "DOCFLOW_S3_BUCKET")
        assert {"name": bucket} in [{"name": b["name"]} for b in tenant["spec"]["buckets"]]
        secret, _ = env_secret(main, "DOCFLOW_S3_ACCESS_KEY")
        assert {"name": secret} in tenant["spec"]["users"]
    # No ExternalName alias may shadow the operator's "minio" Service.
    services = of_kind(prod, "Service")
    assert not [s for s in services.values() if s["spec"].get("type") == "ExternalName"]
