#!/usr/bin/env bash
# The README's main command: installs what is missing, builds semsearch, indexes the bundled COVID-19 FAQ
# (data/covid-faq) into a knowledge base and serves it over HTTP on 127.0.0.1. Idempotent: a second run
# rebuilds nothing that is up to date and re-indexes nothing that is unchanged.
#
# DEMO=zh serves the bundled Chinese FAQ instead (data/zh-faq: the Debian GNU/Linux FAQ in Simplified Chinese,
# 147 questions), with an example query in Chinese: `DEMO=zh scripts/run.sh`.
#
# Model: $SEMSEARCH_MODEL (a model folder, a cached hub name, see `semsearch model pull`, or a shipped model's
# short name semsearch-default / semsearch-zh; "none" for lexical search only), else the project's own model
# for the demo's language (models/semsearch-default; DEMO=zh: models/semsearch-zh, and while that is not
# installed the English models/semsearch-default with a notice), else lexical (bm25) search with a notice.
# Environment: DEMO (covid, the default, or zh), PORT (default 8080), HOST (default 127.0.0.1),
# SEMSEARCH_KB_ROOT (default ./kb).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/setup.sh"
BUILD_DIR="$root/build" "$root/scripts/build.sh" -DSEM_BUILD_TESTS=OFF -DSEM_BUILD_BENCH=OFF
bin="$root/build/cli/semsearch"

demo=${DEMO:-covid}
case "$demo" in
  covid) data="$root/data/covid-faq/faq_covidbert.csv"; shipped=semsearch-default
         question="How long does the virus survive on surfaces?" ;;
  zh)    data="$root/data/zh-faq/debian-faq-zh.jsonl"; shipped=semsearch-zh
         question="apt 怎么升级系统？" ;;
  *)     echo "semsearch: DEMO must be covid (the default) or zh, not '$demo'" >&2; exit 2 ;;
esac

model=${SEMSEARCH_MODEL:-}
[ "$model" = none ] && model=
case "$model" in # a shipped model's short name: its folder, so that its weights name the KB below
  semsearch-default | semsearch-zh) [ -d "$model" ] || model="$root/models/$model" ;;
esac
if [ -z "${SEMSEARCH_MODEL:-}" ]; then
  for m in "$shipped" semsearch-default; do
    if [ -f "$root/models/$m/config.json" ]; then model="$root/models/$m"; break; fi
  done
  if [ "$demo" = zh ] && [ -n "$model" ] && [ "$model" != "$root/models/semsearch-zh" ]; then
    echo "semsearch: notice: the Chinese model models/semsearch-zh is not installed: using $model, an English"
    echo "           model (semantic search finds little in Chinese; lexical search works)."
  fi
fi
kb_root=${SEMSEARCH_KB_ROOT:-$root/kb}
if [ -n "$model" ]; then
  tag=$(basename "$model")
  # a model folder's weights name its KB too, so that a retrained model gets a fresh KB instead of a mismatch
  if [ -f "$model/model.safetensors" ]; then
    tag="$tag-$(sha256sum "$model/model.safetensors" | cut -c1-8)"
  fi
  kb="$kb_root/$demo-faq-$tag"
  echo "semsearch: indexing the bundled FAQ with model $model"
  "$bin" index add "$kb" "$data" --model "$model"
else
  kb="$kb_root/$demo-faq-lexical"
  echo "semsearch: notice: no encoder model available (set SEMSEARCH_MODEL to a model folder or a name pulled"
  echo "           with 'semsearch model pull ORG/NAME'); serving LEXICAL (bm25) search only."
  "$bin" index add "$kb" "$data" --lexical
fi

host=${HOST:-127.0.0.1}
port=${PORT:-8080}
mode=hybrid
[ -n "$model" ] || mode=lexical
cat <<MSG

semsearch: open http://$host:$port/ in a browser, or ask from the shell:
  curl -s http://$host:$port/search -H 'Content-Type: application/json' \\
       -d '{"query":"$question","k":3,"mode":"$mode"}'
  $bin query "$kb" "$question" --mode $mode -k 3
Stop the server with Ctrl-C.

MSG
exec "$bin" serve "$kb" --host "$host" --port "$port"
