#!/usr/bin/env bash
# Installs what semsearch needs from Debian bookworm and fetches the FAISS source package, whose c_api/
# the build compiles into a static library (Debian ships the C API headers but no compiled C API).
# Idempotent: a second run installs nothing and downloads nothing.
#   scripts/setup.sh            runtime + build dependencies
#   scripts/setup.sh --test     also what the tests use (chromium for the page test, wrk for bench)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
want_test=0
for a in "$@"; do
  case "$a" in
    --test) want_test=1 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$a'" >&2; exit 2 ;;
  esac
done

pkgs=(build-essential cmake pkg-config dpkg-dev libssl-dev libfaiss-dev libopenblas-openmp-dev libsqlite3-dev
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
   ! grep -qs '^deb-src .*bookworm' /etc/apt/sources.list; then
  echo "setup: adding a deb-src entry for bookworm main ($src_list)"
  "${sudo_cmd[@]}" tee "$src_list" >/dev/null <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
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
