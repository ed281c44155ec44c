#!/usr/bin/env bash
# tests/cli/test_setup_sources.sh: scripts/setup.sh derives its deb-src entries from the machine's own apt
# sources (mirrors and proxies keep working) instead of naming an archive host. Feeds sample sources files to
# `setup.sh --print-src` (which only prints; the machine's apt configuration is not touched) and checks that no
# file of the repository names the public Debian archive host.
#   test_setup_sources.sh SOURCE_DIR
set -u
src=${1:?usage: test_setup_sources.sh SOURCE_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # check NAME EXPECTED ACTUAL
  if [ "$2" != "$3" ]; then
    echo "FAIL: $1"; echo "--- expected"; printf '%s\n' "$2"; echo "--- got"; printf '%s\n' "$3"; fail=1
  else
    echo "ok: $1"
  fi
}

cat > "$tmp/mirror.sources" <<'S'
# a local mirror behind a proxy
Types: deb
URIs: http://mirror.invalid/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.invalid/disabled
Suites: bookworm
Components: main
Enabled: no

Types: deb-src
URIs: http://mirror.invalid/already-source
Suites: bookworm
Components: main

types: deb deb-src
uris: https://mirror.invalid/inline-key
suites: bookworm-security
components: main
signed-by:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mQINBGPL0BUBEADmW5NdOOHwPIJlgPu6JDcKw/NZJPR8lsD9K7UgrF6yNE5mnrb=
 -----END PGP PUBLIC KEY BLOCK-----
S
check "deb822 .sources" "Types: deb-src
URIs: http://mirror.invalid/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: https://mirror.invalid/inline-key
Suites: bookworm-security
Components: main
Signed-By: 
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mQINBGPL0BUBEADmW5NdOOHwPIJlgPu6JDcKw/NZJPR8lsD9K7UgrF6yNE5mnrb=
 -----END PGP PUBLIC KEY BLOCK-----" "$(bash "$src/scripts/setup.sh" --print-src "$tmp/mirror.sources")"

cat > "$tmp/sources.list" <<'S'
# one-line format
deb http://proxy.invalid:3142/debian bookworm main non-free-firmware
deb [arch=amd64 signed-by=/etc/apt/keyrings/mirror.gpg] http://mirror.invalid/debian bookworm-updates main # note
  deb-src http://mirror.invalid/debian bookworm main
#deb http://mirror.invalid/commented bookworm main
S
check "one-line .list" "Types: deb-src
URIs: http://proxy.invalid:3142/debian
Suites: bookworm
Components: main non-free-firmware

Types: deb-src
URIs: http://mirror.invalid/debian
Suites: bookworm-updates
Components: main
Signed-By: /etc/apt/keyrings/mirror.gpg" "$(bash "$src/scripts/setup.sh" --print-src "$tmp/sources.list")"

check "no deb entries, missing files" "" "$(bash "$src/scripts/setup.sh" --print-src "$tmp/none.sources" /dev/null)"

# no file in the repository names the archive host (spelled in two pieces here so that this file does not)
host="deb.debian"".org"
# (the files git tracks or would track; ignored outputs such as out/ hold downloaded data, not repository files)
if git -C "$src" rev-parse --is-inside-work-tree > /dev/null 2>&1; then
  hits=$(cd "$src" && git ls-files -z --cached --others --exclude-standard | xargs -0 -r grep -IlF "$host" -- \
    2>/dev/null || true)
else
  hits=$(grep -rIl --exclude-dir=.git --exclude-dir=.deps --exclude-dir='build*' --exclude-dir=node_modules \
    --exclude-dir=out -F "$host" "$src" 2>/dev/null)
fi
check "no archive host named in the repository" "" "$hits"
exit $fail
