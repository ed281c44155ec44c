#!/usr/bin/env bash
# The README's main command: installs what is missing, builds semsearch, indexes the bundled COVID-19 FAQ
# (data/covid-faq) into a knowledge base and serves it over HTTP on 127.0.0.1. Idempotent: a second run
# rebuilds nothing that is up to date and re-indexes nothing that is unchanged.
#
# Model: $SEMSEARCH_MODEL (a model folder or a cached hub name, see `semsearch model pull`; "none" for lexical
# search only), else the project's own default model in models/semsearch-default, else lexical (bm25) search
# with a notice.
# Environment: PORT (default 8080), HOST (default 127.0.0.1), SEMSEARCH_KB_ROOT (default ./kb).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/setup.sh"
BUILD_DIR="$root/build" "$root/scripts/build.sh" -DSEM_BUILD_TESTS=OFF -DSEM_BUILD_BENCH=OFF
bin="$root/build/cli/semsearch"

model=${SEMSEARCH_MODEL:-}
[ "$model" = none ] && model=
if [ -z "${SEMSEARCH_MODEL:-}" ] && [ -f "$root/models/semsearch-default/config.json" ]; then
  model="$root/models/semsearch-default"
fi
kb_root=${SEMSEARCH_KB_ROOT:-$root/kb}
if [ -n "$model" ]; then
  tag=$(basename "$model")
  # a model folder's weights name its KB too, so that a retrained model gets a fresh KB instead of a mismatch
  if [ -f "$model/model.safetensors" ]; then
    tag="$tag-$(sha256sum "$model/model.safetensors" | cut -c1-8)"
  fi
  kb="$kb_root/covid-faq-$tag"
  echo "semsearch: indexing the bundled FAQ with model $model"
  "$bin" index add "$kb" "$root/data/covid-faq/faq_covidbert.csv" --model "$model"
else
  kb="$kb_root/covid-faq-lexical"
  echo "semsearch: notice: no encoder model available (set SEMSEARCH_MODEL to a model folder or a name pulled"
  echo "           with 'semsearch model pull ORG/NAME'); serving LEXICAL (bm25) search only."
  "$bin" index add "$kb" "$root/data/covid-faq/faq_covidbert.csv" --lexical
fi

host=${HOST:-127.0.0.1}
port=${PORT:-8080}
mode=hybrid
[ -n "$model" ] || mode=lexical
cat <<MSG

semsearch: open http://$host:$port/ in a browser, or ask from the shell:
  curl -s http://$host:$port/search -H 'Content-Type: application/json' \\
       -d '{"query":"How long does the virus survive on surfaces?","k":3,"mode":"$mode"}'
  $bin query "$kb" "How long does the virus survive on surfaces?" --mode $mode -k 3
Stop the server with Ctrl-C.

MSG
exec "$bin" serve "$kb" --host "$host" --port "$port"
