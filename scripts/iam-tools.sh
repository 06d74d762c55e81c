#!/usr/bin/env bash
# Installs the offline IAM policy evaluator that tests/iam/evaluate.mjs runs:
# @cloud-copilot/iam-simulate 0.1.173 with its dependencies exactly as locked (versions and
# sha512 integrity) in scripts/iam-tools/package-lock.json, into the git-ignored scratch
# folder .tools/iam-simulate/. Idempotent: nothing happens while the installed lock matches.
# The package is AGPL-3.0: a test-time tool only, never vendored, linked or shipped.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.tools/iam-simulate
if ! cmp -s scripts/iam-tools/package-lock.json "$dir/package-lock.json" ||
  [[ ! -f "$dir/node_modules/@cloud-copilot/iam-simulate/package.json" ]]; then
  echo "installing @cloud-copilot/iam-simulate (scripts/iam-tools/package-lock.json) into $dir" >&2
  rm -rf "$dir"
  mkdir -p "$dir"
  cp scripts/iam-tools/package.json scripts/iam-tools/package-lock.json "$dir/"
  npm ci --prefix "$dir" --no-audit --no-fund --silent
fi
