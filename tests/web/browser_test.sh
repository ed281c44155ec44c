#!/usr/bin/env bash
# tests/web/browser_test.sh SEMSEARCH SHARED_DIR: the search page in headless Chromium (Debian's chromium).
# Builds a small KB with the fixture model, starts `semsearch serve` on an ephemeral port, and loads the page with
# a question in the URL hash: the page's script types it into the question box and submits the form, as a user
# would; Chromium's DOM after the fetch (--virtual-time-budget lets it finish) must show the results: titles,
# highlighted words, scores, metadata. Exits 77 (ctest SKIP) only when chromium is missing or cannot run here.
set -u
bin=${1:?usage: browser_test.sh SEMSEARCH SHARED_DIR}
shared=${2:?usage: browser_test.sh SEMSEARCH SHARED_DIR}
model="$shared/testdata/models/bert-tiny-uncased"

chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
  echo "SKIP: chromium is not installed (scripts/setup.sh --test installs it)"
  exit 77
fi

tmp=$(mktemp -d /tmp/semsearch-browser-XXXXXX)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# Each run gets its own profile; no sandbox (tests may run as root in containers), no GPU, no network chatter.
chrome() {
  timeout 90 "$chromium" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --no-first-run --disable-dev-shm-usage --user-data-dir="$(mktemp -d "$tmp/profile.XXXXXX")" \
    "$@" 2>>"$tmp/chromium.log"
}

if ! chrome --dump-dom 'data:text/html,<p id=x></p><script>x.textContent="js-ok"</script>' | grep -q 'js-ok'; then
  echo "SKIP: chromium cannot run headless here:"
  tail -5 "$tmp/chromium.log"
  exit 77
fi

fail=0
check() { # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}

cat >"$tmp/docs.jsonl" <<'DOCS'
{"id":"photo","title":"Photosynthesis","text":"Photosynthesis converts light energy into chemical energy in green plants.","topic":"biology"}
{"id":"volcano","title":"Volcanoes","text":"A volcano erupts when magma rises through the crust.","topic":"geology"}
{"id":"bread","title":"Bread <b>&amp; yeast</b>","text":"Yeast makes bread dough rise. <script>window.pwned=1</script>","topic":"cooking"}
{"id":"virus","title":"传播","text":"新冠病毒主要通过飞沫传播。","topic":"medicine"}
DOCS
if ! "$bin" index add "$tmp/kb" "$tmp/docs.jsonl" --model "$model" -q >"$tmp/index.log" 2>&1; then
  echo "FAIL: semsearch index add"; cat "$tmp/index.log"; exit 1
fi

: >"$tmp/out"
"$bin" serve "$tmp/kb" --port 0 --quiet --max-k 50 >"$tmp/out" 2>"$tmp/serve.log" &
pid=$!
url=
for _ in $(seq 1 300); do
  url=$(sed -n 's/^serving on //p' "$tmp/out")
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$url" ]; then echo "FAIL: the server did not start"; cat "$tmp/serve.log"; exit 1; fi
echo "server at $url"

# 1. lexical: the matching document, its title, score, metadata and the question's words highlighted
chrome --virtual-time-budget=15000 --dump-dom "${url}#q=photosynthesis%20light&mode=lexical&k=3" >"$tmp/dom1.html"
check "page loaded" grep -q '<form id="search"' "$tmp/dom1.html"
check "the typed question was submitted" grep -q 'data-query="photosynthesis light" data-mode="lexical" data-k="3"' "$tmp/dom1.html"
check "one result shown" grep -q 'data-count="1"' "$tmp/dom1.html"
check "result title" grep -q '<span class="title">Photosynthesis</span>' "$tmp/dom1.html"
check "matching words highlighted" grep -q '<mark>Photosynthesis</mark>' "$tmp/dom1.html"
check "second word highlighted" grep -q '<mark>light</mark>' "$tmp/dom1.html"
check "score shown" grep -Eq 'class="score">score -?[0-9]+\.[0-9]{4}' "$tmp/dom1.html"
check "metadata shown" grep -q '<li>topic: biology</li>' "$tmp/dom1.html"
check "status line" grep -Eq 'id="status"[^>]*>1 result in [0-9.]+ ms' "$tmp/dom1.html"

# 2. semantic with k = 2 from the controls: two results
chrome --virtual-time-budget=15000 --dump-dom "${url}#q=how%20does%20bread%20rise&mode=semantic&k=2" >"$tmp/dom2.html"
check "semantic: two results" grep -q 'data-count="2"' "$tmp/dom2.html"
check "semantic: mode and k from the controls" grep -q 'data-mode="semantic" data-k="2"' "$tmp/dom2.html"
check "semantic: a whole word highlighted from its stem" grep -q '<mark>rises</mark>' "$tmp/dom2.html"

# 3. text from documents is shown as text, never run as markup
chrome --virtual-time-budget=15000 --dump-dom "${url}#q=yeast%20bread&mode=lexical&k=1" >"$tmp/dom3.html"
check "markup in a title is escaped" grep -q 'Bread &lt;b&gt;&amp;amp; yeast&lt;/b&gt;' "$tmp/dom3.html"
check "markup in a text is escaped" grep -q '&lt;script&gt;window.pwned=1&lt;/script&gt;' "$tmp/dom3.html"

# 4. an error from the server is shown (k above the server's --max-k)
chrome --virtual-time-budget=15000 --dump-dom "${url}#q=bread&mode=lexical&k=80" >"$tmp/dom4.html"
check "server error shown" grep -q 'class="error">Search failed: field' "$tmp/dom4.html"

# 5. CJK: the question's character bigrams are found and marked where they occur; stopwords are not marked
chrome --virtual-time-budget=15000 --dump-dom "${url}#q=%E6%96%B0%E5%86%A0%E7%97%85%E6%AF%92%E6%98%AF%E4%BB%80%E4%B9%88&mode=lexical&k=3" >"$tmp/dom5.html"
check "CJK: found by a bigram" grep -q 'data-count="1"' "$tmp/dom5.html"
check "CJK: the shared characters marked" grep -q '<mark>新冠病毒</mark>主要' "$tmp/dom5.html"
chrome --virtual-time-budget=15000 --dump-dom "${url}#q=photosynthesis%20in%20the%20plants&mode=lexical&k=3" >"$tmp/dom6.html"
check "stopwords: the words marked" grep -q '<mark>plants</mark>' "$tmp/dom6.html"
check "stopwords: not marked" sh -c "! grep -q '<mark>in</mark>' '$tmp/dom6.html'"

if [ "$fail" != 0 ]; then
  for f in "$tmp"/dom*.html; do echo "== $f"; sed -n '/<main>/,/<\/main>/p' "$f" | head -40; done
  echo "== server log"; tail -20 "$tmp/serve.log"
  exit 1
fi
echo "browser test passed"
