#!/usr/bin/env bash
# scripts/make_training_data.sh: builds semsearch's training data from Debian packages with clear licences
# (documentation, man pages, GNU info manuals, GCIDE, the English package descriptions of the apt lists)
# and the STS Benchmark TRAIN split, for `semsearch train` (see docs/training.md).
#
#   scripts/make_training_data.sh [OUTDIR]      default OUTDIR: out/training-data (ignored by git)
#   STS_TRAIN=/path/sts-train.csv scripts/make_training_data.sh   another STS train file ("" to leave it out)
#
# Steps: checks that each package exists (apt-cache policy), installs the missing ones (apt-get; as root or with
# sudo), fetches apt's English package descriptions (Translation-en) into OUTDIR/apt-lists, then
# scripts/training_extract.py extracts plain text (one paragraph per line) and pairs, deduplicates
# them, holds out ~1 % of the paragraphs for MLM evaluation and writes LICENSES and STATS. Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/out/training-data}
sts=${STS_TRAIN-$root/../shared/data/stsbenchmark/sts-train.csv}
pkgs=(python3.11-doc postgresql-doc-15 sqlite3-doc wordnet-base debian-faq debian-reference-en manpages manpages-dev
  dict-gcide coreutils diffutils findutils grep gzip sed wget time ed)

missing=()
# one apt-cache call for all packages ("name installed candidate" per line): apt builds its cache once
policy=$(apt-cache policy "${pkgs[@]}" 2>/dev/null |
  awk '/^[^ ]/ {sub(":$", "", $1); p=$1} /Installed:/ {i[p]=$2} /Candidate:/ {c[p]=$2}
       END {for (p in c) print p, i[p], c[p]}')
for p in "${pkgs[@]}"; do
  read -r _ inst cand <<<"$(grep "^$p " <<<"$policy" || true)"
  if [ -z "${cand:-}" ] || [ "$cand" = "(none)" ]; then
    echo "make_training_data: package $p is not available from apt on this system; its data is left out" >&2
    continue
  fi
  [ "$inst" = "(none)" ] && missing+=("$p")
done
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
if [ ${#missing[@]} -gt 0 ]; then
  echo "make_training_data: installing ${missing[*]}" >&2
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
out=$(cd "$out" && pwd) # apt resolves a relative Dir::State::Lists against /var/lib/apt

# Package descriptions: apt's Translation-en lists of the sources this machine is configured with (its own
# sources.list / sources.list.d, whatever archive or mirror they name), fetched by apt into a private lists folder
# so that the system's lists and package cache stay as they are. Skipped when already there (REFRESH_APT_LISTS=1
# fetches again).
lists=$out/apt-lists
if [ "${REFRESH_APT_LISTS:-0}" = 1 ] || ! ls "$lists"/*_i18n_Translation-en* >/dev/null 2>&1; then
  mkdir -p "$lists/partial"
  "${sudo_cmd[@]}" apt-get update -o Acquire::Languages=en -o Dir::State::Lists="$lists" -o Dir::Cache::pkgcache= \
    -o Dir::Cache::srcpkgcache= -o APT::Get::List-Cleanup=0 >&2 ||
    echo "make_training_data: apt-get update failed; package descriptions left out" >&2
fi

# Texts that must never be trained on: the evaluation sets' queries and the bundled COVID FAQ.
exclude=("$root"/data/eval/*/queries.jsonl "$root"/data/covid-faq/*.csv)
python3 "$root/scripts/training_extract.py" --out "$out" "${sts_args[@]}" --apt-lists "$lists" \
  --exclude-queries "${exclude[@]}"
echo "make_training_data: done: $out (see $out/STATS and $out/LICENSES)" >&2
