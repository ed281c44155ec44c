#!/usr/bin/env bash
# bench/bench_http.sh: a short wrk load against `semsearch serve` for /search (semantic, lexical, hybrid) and
# /embed (one text, a batch of 16), printing a Markdown table of requests/s and latency percentiles.
#
#   bench/bench_http.sh [--semsearch BIN] [--model DIR] [--kb DIR] [--data FILE] [--duration S]
#                       [--connections N] [--wrk-threads N] [--server-threads N]
#
# Defaults: BIN = build/cli/semsearch; the KB is built in a temporary folder from the bundled COVID FAQ
# (../shared/data/covid-faq/faq_covidbert.csv) with MODEL (default: the fixture bert-tiny-uncased, so the numbers
# mostly measure the server; pass a real model folder to measure the encoder too); 10 s per endpoint, 8
# connections, 1 wrk thread, 2 server threads. Needs wrk (Debian: apt-get install wrk).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/build/cli/semsearch"
model="$root/../shared/testdata/models/bert-tiny-uncased"
data="$root/../shared/data/covid-faq/faq_covidbert.csv"
kb=
duration=10
conns=8
wthreads=1
sthreads=2
while [ $# -gt 0 ]; do
  case "$1" in
    --semsearch) bin=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --kb) kb=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --connections) conns=$2; shift 2 ;;
    --wrk-threads) wthreads=$2; shift 2 ;;
    --server-threads) sthreads=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "bench_http.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "bench_http.sh: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
[ -x "$bin" ] || { echo "bench_http.sh: no semsearch binary at $bin (use --semsearch)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/semsearch-bench-http-XXXXXX)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

if [ -z "$kb" ]; then
  kb="$tmp/faq"
  echo "building a KB from $(basename "$data") with $(basename "$model") ..." >&2
  "$bin" index add "$kb" "$data" --model "$model" -q >&2
fi

: >"$tmp/out"
"$bin" serve "$kb" --port 0 --threads "$sthreads" --quiet >"$tmp/out" 2>"$tmp/serve.log" &
pid=$!
url=
for _ in $(seq 1 300); do
  url=$(sed -n 's/^serving on //p' "$tmp/out")
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$url" ] || { echo "bench_http.sh: the server did not start:" >&2; cat "$tmp/serve.log" >&2; exit 1; }

# One wrk Lua script per request body.
script() { # script NAME PATH BODY
  cat >"$tmp/$1.lua" <<LUA
wrk.method = "POST"
wrk.path = "$2"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[$3]]
LUA
}
q='How is the virus transmitted from person to person?'
script sem /search "{\"query\":\"$q\",\"k\":10,\"mode\":\"semantic\"}"
script lex /search "{\"query\":\"$q\",\"k\":10,\"mode\":\"lexical\"}"
script hyb /search "{\"query\":\"$q\",\"k\":10,\"mode\":\"hybrid\"}"
script emb1 /embed "{\"inputs\":\"$q\"}"
batch=$(for i in $(seq 1 16); do printf '"%s (%d)",' "$q" "$i"; done)
script emb16 /embed "{\"inputs\":[${batch%,}]}"

# wrk's latency units (us, ms, s) to milliseconds.
to_ms() { awk -v v="$1" 'BEGIN { u = v; gsub(/[0-9.]/, "", u); n = v + 0;
  if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000; printf "%.2f", n }'; }

run() { # run LABEL SCRIPT
  local out
  out=$(wrk -t"$wthreads" -c"$conns" -d"${duration}s" --latency -s "$tmp/$2.lua" "$url" 2>&1)
  local rps p50 p90 p99 non2xx errs
  rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
  p90=$(to_ms "$(awk '$1 == "90%" { print $2 }' <<<"$out")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
  non2xx=$(awk '/Non-2xx/ { print $NF }' <<<"$out")
  errs=$(awk '/Socket errors/ { print $0 }' <<<"$out")
  printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$rps" "$p50" "$p90" "$p99" "${non2xx:-0}${errs:+ ($errs)}"
}

echo "$("$bin" version 2>/dev/null | head -1 || true); model $(basename "$model"); $(nproc) CPUs;" \
     "wrk -t$wthreads -c$conns -d${duration}s; server --threads $sthreads"
echo
echo "| request | requests/s | p50 ms | p90 ms | p99 ms | non-2xx |"
echo "|---|---:|---:|---:|---:|---:|"
run "POST /search semantic, k=10" sem
run "POST /search lexical, k=10" lex
run "POST /search hybrid, k=10" hyb
run "POST /embed, 1 text" emb1
run "POST /embed, 16 texts" emb16
