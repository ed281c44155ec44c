#!/usr/bin/env bash
# scripts/make_training_data.sh: builds semsearch's training data from Debian documentation packages with clear
# licences (and the STS Benchmark TRAIN split), for `semsearch train` (see docs/training.md).
#
#   scripts/make_training_data.sh [OUTDIR]      default OUTDIR: out/training-data (ignored by git)
#   STS_TRAIN=/path/sts-train.csv scripts/make_training_data.sh   another STS train file ("" to leave it out)
#
# Steps: checks that each package exists (apt-cache policy), installs the missing ones (apt-get; as root or with
# sudo), then scripts/training_extract.py extracts plain text (one paragraph per line) and pairs, deduplicates
# them, holds out ~1 % of the paragraphs for MLM evaluation and writes LICENSES and STATS. Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/out/training-data}
sts=${STS_TRAIN-$root/../shared/data/stsbenchmark/sts-train.csv}
pkgs=(python3.11-doc postgresql-doc-15 sqlite3-doc wordnet-base debian-faq debian-reference-en)

missing=()
for p in "${pkgs[@]}"; do
  cand=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')
  if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then
    echo "make_training_data: package $p is not available from apt on this system; its data is left out" >&2
    continue
  fi
  inst=$(apt-cache policy "$p" 2>/dev/null | awk '/Installed:/ {print $2}')
  [ "$inst" = "(none)" ] && missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "make_training_data: installing ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
fi

sts_args=()
if [ -n "$sts" ]; then
  if [ -f "$sts" ]; then
    sts_args=(--sts "$sts")
  else
    echo "make_training_data: $sts not found; STS Benchmark pairs left out" >&2
  fi
fi
mkdir -p "$out"
python3 "$root/scripts/training_extract.py" --out "$out" "${sts_args[@]}"
echo "make_training_data: done: $out (see $out/STATS and $out/LICENSES)" >&2
