#!/usr/bin/env bash
# Candidate-against-champion benchmark (not a test): `bash benches/analysis.sh [STEPS]`.
# Monte-Carlo canary steps (Poisson traffic, binomial 5xx) judged by the point-estimate judge
# of earlier versions and by the sequential test, on the same simulated steps; prints one
# Markdown table (docs/benchmarks.md). STEPS per cell, default 2,000.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --quiet --profile analysis --example analysis_bench -- "${1:-2000}"
