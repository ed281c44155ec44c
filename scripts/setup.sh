#!/usr/bin/env bash
# Installs what semsearch needs from Debian bookworm and fetches the FAISS source package, whose c_api/
# the build compiles into a static library (Debian ships the C API headers but no compiled C API).
# Idempotent: a second run installs nothing and downloads nothing.
#   scripts/setup.sh            runtime + build dependencies
#   scripts/setup.sh --test     also what the tests use (chromium for the page test, wrk for bench)
#   scripts/setup.sh --print-src FILE...
#                               print the deb-src entries it would add for these apt sources files, and exit
# The deb-src entry (needed once, for `apt-get source faiss`) mirrors the machine's own "deb" entries: the same
# URIs, suites, components and keys, so configured mirrors and proxies keep working. No archive host is named here.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# Prints deb822 "Types: deb-src" stanzas for the enabled "deb" entries of the given apt sources files: deb822
# *.sources files (URIs, Suites, Components, Signed-By, an inline key included) and one-line *.list files
# ("deb [signed-by=KEY ...] URI SUITE COMPONENT..."). Entries that are deb-src already are not repeated.
derive_src_entries() {
  local f
  for f in "$@"; do
    [ -r "$f" ] || continue
    case "$f" in
      *.sources) awk '
        function flush() {
          if (enabled && types ~ /(^|[ \t])deb([ \t]|$)/ && uris != "" && suites != "") {
            print "Types: deb-src"; print "URIs: " uris; print "Suites: " suites
            if (comps != "") print "Components: " comps
            if (signed != "") print "Signed-By: " signed
            print ""
          }
          types = uris = suites = comps = signed = key = ""; enabled = 1
        }
        BEGIN { enabled = 1 }
        /^[ \t]*#/ { next }
        /^[ \t]*$/ { flush(); next }
        /^[ \t]/ { if (key == "signed-by") signed = signed "\n" $0; next }
        {
          c = index($0, ":"); if (c == 0) next
          key = tolower(substr($0, 1, c - 1)); v = substr($0, c + 1); gsub(/^[ \t]+|[ \t]+$/, "", v)
          if (key == "types") types = v; else if (key == "uris") uris = v; else if (key == "suites") suites = v
          else if (key == "components") comps = v; else if (key == "signed-by") signed = v
          else if (key == "enabled") enabled = tolower(v) != "no"
        }
        END { flush() }' "$f" ;;
      *) awk '
        /^[ \t]*deb[ \t]/ {
          line = $0; sub(/^[ \t]*deb[ \t]+/, "", line); signed = ""
          if (substr(line, 1, 1) == "[") {
            e = index(line, "]"); if (e == 0) next
            n = split(substr(line, 2, e - 2), o, /[ \t]+/)
            for (i = 1; i <= n; i++) if (tolower(o[i]) ~ /^signed-by=/) signed = substr(o[i], 11)
            line = substr(line, e + 1)
          }
          sub(/^[ \t]+/, "", line); sub(/[ \t]*#.*$/, "", line)
          n = split(line, w, /[ \t]+/); if (n < 2) next
          comps = ""; for (i = 3; i <= n; i++) comps = comps (i > 3 ? " " : "") w[i]
          print "Types: deb-src"; print "URIs: " w[1]; print "Suites: " w[2]
          if (comps != "") print "Components: " comps
          if (signed != "") print "Signed-By: " signed
          print ""
        }' "$f" ;;
    esac
  done
}

want_test=0
while [ $# -gt 0 ]; do
  case "$1" in
    --test) want_test=1 ;;
    --print-src) shift; derive_src_entries "$@"; exit 0 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done

pkgs=(build-essential cmake pkg-config dpkg-dev libssl-dev libfaiss-dev libopenblas-openmp-dev libdnnl-dev libsqlite3-dev
      libmicrohttpd-dev libcjson-dev libutf8proc-dev libcurl4-openssl-dev)
if [ "$want_test" = 1 ]; then
  pkgs+=(libclang-rt-14-dev clang curl chromium wrk)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

sudo_cmd=()
if [ "$(id -u)" != 0 ]; then sudo_cmd=(sudo); fi

src_list=/etc/apt/sources.list.d/semsearch-src.sources
need_src=0
[ -d "$root/.deps/faiss-src/c_api" ] || need_src=1
if [ "$need_src" = 1 ] && ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && \
   ! grep -qs '^deb-src ' /etc/apt/sources.list; then
  apt_files=()
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] && [ "$f" != "$src_list" ] && apt_files+=("$f")
  done
  entries=$(derive_src_entries "${apt_files[@]}")
  if [ -z "$entries" ]; then
    echo "setup: no 'deb' entry in the apt sources to derive a deb-src entry from; add one for bookworm main" >&2
    exit 1
  fi
  echo "setup: adding deb-src entries that mirror the apt sources ($src_list)"
  printf '%s\n' "$entries" | "${sudo_cmd[@]}" tee "$src_list" >/dev/null
fi

if [ "${#missing[@]}" -gt 0 ] || [ "$need_src" = 1 ]; then
  echo "setup: apt-get update"
  "${sudo_cmd[@]}" apt-get update -q >/dev/null
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$need_src" = 1 ]; then
  echo "setup: fetching the faiss source package (apt-get source faiss)"
  tmp=$(mktemp -d "$root/.deps-tmp.XXXXXX")
  (cd "$tmp" && apt-get source -q faiss >/dev/null 2>&1) || { rm -rf "$tmp"; echo "setup: apt-get source faiss failed" >&2; exit 1; }
  mkdir -p "$root/.deps"
  rm -rf "$root/.deps/faiss-src"
  mv "$tmp"/faiss-*/ "$root/.deps/faiss-src"
  rm -rf "$tmp"
fi
echo "setup: dependencies ready"
