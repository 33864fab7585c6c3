"""Fixtures of tests/deploy: the cached tools, and the rendered kustomizations."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy import deploy_schemas
from tests.deploy.deploy_schemas import Tools
from tests.deploy.manifests import K8S, OVERLAYS


@pytest.fixture(scope="session")
def tools() -> Tools:
    try:
        return deploy_schemas.ensure_tools()
    except deploy_schemas.ToolsUnavailable as exc:
        pytest.fail(f"deployment tools unavailable, cannot check the manifests:\n{exc}")


@pytest.fixture(scope="session")
def rendered(tools: Tools) -> dict[str, list[dict[str, Any]]]:
    """``kubectl kustomize`` of base and each overlay."""
    out = {"base": deploy_schemas.render_kustomization(tools, K8S / "base")}
    for overlay in OVERLAYS:
        out[overlay] = deploy_schemas.render_kustomization(tools, K8S / "overlays" / overlay)
    return out
