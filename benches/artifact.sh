#!/usr/bin/env bash
# Artifact benchmarks (not tests): `bash benches/artifact.sh [SIZE_MIB] [RUNS]`.
#
# On one synthetic artifact with weight-like content (examples/synth_artifact.rs) it times,
# in the same run so machine noise hits everything alike:
#   package   vs  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -c | gzip -6
#   validate  vs  gzip -dc > /dev/null,  tar -tzf,  python3 tarfile listing
# reporting the median wall time of RUNS runs, throughput, ratios and peak RSS
# (GNU time's maximum resident set size). Results go to stdout as a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-1024}
RUNS=${2:-3}
# gzip -6 spends minutes on weight-like data; one run of the package baseline is plenty.
BASE_RUNS=${BASE_RUNS:-1}
WORK=${WORK:-$(mktemp -d)}
trap 'rm -rf "$WORK"' EXIT
BIN=target/release/sagemaker-rollout

cargo build --release --quiet --bins --examples
target/release/examples/synth_artifact "$WORK/dir" "$SIZE_MIB"
RAW=$(du -sb "$WORK/dir" | cut -f1)

# median seconds and max RSS (KiB) of RUNS runs of a command
measure() {
  local times=() rss=0
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o "$WORK/t" "$@" >/dev/null 2>"$WORK/err" || { cat "$WORK/err"; exit 1; }
    read -r secs kb <"$WORK/t"
    times+=("$secs")
    (( kb > rss )) && rss=$kb
  done
  local median
  median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "$median $rss"
}

row() { # name seconds rss baseline_seconds
  local mbps ratio
  mbps=$(awk -v b="$RAW" -v s="$2" 'BEGIN {printf "%.0f", b / 1048576 / s}')
  ratio=$(awk -v a="$4" -v s="$2" 'BEGIN {printf "%.2f", a / s}')
  printf '| %s | %s | %s | %s | %s |\n' "$1" "$2" "$mbps" "$ratio" "$(( $3 / 1024 ))"
}

read -r pk_s pk_rss < <(measure "$BIN" package "$WORK/dir" -o "$WORK/ours.tar.gz")
read -r tg_s tg_rss < <(RUNS=$BASE_RUNS measure bash -c "tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C '$WORK/dir' -c . | gzip -6 > '$WORK/base.tar.gz'")
OURS=$(stat -c %s "$WORK/ours.tar.gz")
BASE=$(stat -c %s "$WORK/base.tar.gz")

read -r gz_s gz_rss < <(measure gzip -dc "$WORK/ours.tar.gz")
read -r v_s v_rss < <(measure "$BIN" validate "$WORK/ours.tar.gz")
read -r v1_s v1_rss < <(measure "$BIN" validate "$WORK/base.tar.gz")
read -r tt_s tt_rss < <(measure tar -tzf "$WORK/ours.tar.gz")
read -r py_s py_rss < <(measure python3 -c "import sys, tarfile; [m.name for m in tarfile.open(sys.argv[1], 'r:gz')]" "$WORK/ours.tar.gz")

echo "Artifact: $SIZE_MIB MiB of weight-like float32 + metadata ($RAW bytes), $(nproc) cores, median of $RUNS runs ($BASE_RUNS for the tar|gzip baseline)"
echo
echo "| command | seconds | MiB/s (uncompressed) | speed-up vs baseline | peak RSS MiB |"
echo "|---|---|---|---|---|"
row "\`tar ... -c | gzip -6\` (package baseline)" "$tg_s" "$tg_rss" "$tg_s"
row "\`sagemaker-rollout package\`" "$pk_s" "$pk_rss" "$tg_s"
row "\`gzip -dc > /dev/null\` (validate baseline)" "$gz_s" "$gz_rss" "$gz_s"
row "\`sagemaker-rollout validate\` (block format, parallel)" "$v_s" "$v_rss" "$gz_s"
row "\`sagemaker-rollout validate\` (tar|gzip output, one member)" "$v1_s" "$v1_rss" "$gz_s"
row "\`tar -tzf\`" "$tt_s" "$tt_rss" "$gz_s"
row "python3 \`tarfile\` listing" "$py_s" "$py_rss" "$gz_s"
echo
echo "Compressed size: package $OURS bytes, tar|gzip -6 $BASE bytes ($(awk -v a="$OURS" -v b="$BASE" 'BEGIN {printf "%+.3f%%", (a - b) * 100 / b}') for package)"
