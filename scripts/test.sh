#!/usr/bin/env bash
# The project's test command (README): installs the pinned moto the AWS emulator
# (tests/emulator/) is built on, with its whole dependency tree pinned in
# scripts/moto-requirements.txt, into .venv and the chart tools
# (scripts/tools.sh) and the IAM policy evaluator (scripts/iam-tools.sh) when missing, then runs
# every test. Works offline apart from crates.io, PyPI and npm.
set -euo pipefail
cd "$(dirname "$0")/.."
want=$(grep -i '^moto==' scripts/moto-requirements.txt | cut -d= -f3)
if ! .venv/bin/python -c "import sys, moto; sys.exit(moto.__version__ != '$want')" 2>/dev/null; then
  echo "installing moto $want into .venv" >&2
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r scripts/moto-requirements.txt
fi
# helm, kubectl and kubernetes-validate for the chart and manifest tests (tests/ship/).
bash scripts/tools.sh
# The AWS emulator's own tests (each rule it enforces, broken and expected to fail as AWS
# fails), then every Rust test; the Rust tests start the emulator themselves.
.venv/bin/python -m unittest discover -s tests/emulator -p 'test_*.py' -q
# The shipped IAM policies (deploy/iam/) evaluated offline, request by request, against what a
# rollout must be allowed and the tenant-boundary holes that must stay closed (tests/iam/).
bash scripts/iam-tools.sh && node tests/iam/evaluate.mjs
# Five tests at a time: the emulator-backed ones (tests/aws, tests/controller) mostly wait on
# the emulator's timed transitions and the binary's polling, not on the two cores.
export RUST_TEST_THREADS="${RUST_TEST_THREADS:-5}"
exec cargo test --locked "$@"
