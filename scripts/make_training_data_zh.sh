#!/usr/bin/env bash
# scripts/make_training_data_zh.sh: builds the Chinese model's training data (models/semsearch-zh) from Debian
# packages: Chinese documentation (installed) and the zh_CN gettext message catalogues that packages ship.
#
#   scripts/make_training_data_zh.sh [OUTDIR]      default OUTDIR: out/training-data-zh (ignored by git)
#
# Steps (idempotent; each is skipped when its output exists):
#  1. installs the documentation packages (apt-get; as root or with sudo): Chinese docs, and the English originals
#     that English <-> Chinese section pairs are aligned with;
#  2. downloads (apt-get download, not installed: no dependencies, no maintainer scripts) the packages listed in
#     CATALOGUE_PKGS into OUTDIR/debs and unpacks only their zh_CN .mo files and copyright files;
#  3. converts every zh_CN catalogue (those and the ones installed under /usr/share/locale/zh_CN) to .po with
#     msgunfmt (gettext) into OUTDIR/po, and records each one's package, version and licences (OUTDIR/mo-licences.tsv);
#  4. scripts/training_extract_zh.py writes text/, pairs/, heldout/ (1 % of paragraphs, 2 % of pairs), LICENSES and
#     STATS. debian-faq-zh-cn is the Chinese evaluation set's corpus: MLM text only, never pairs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/out/training-data-zh}
doc_pkgs=(debian-reference-zh-cn manpages-zh gimp-help-zh-cn debian-edu-doc-zh-cn maint-guide-zh-cn debian-faq-zh-cn
          debian-reference-en maint-guide debian-edu-doc-en gettext)
CATALOGUE_PKGS=${CATALOGUE_PKGS:-"gimp-data vlc-l10n nano wget tar sed gawk util-linux-locales procps psmisc
  debconf-i18n tasksel-data aptitude-common gcc-12-locales sudo bison login kbd grub-common libsane-common
  libgphoto2-l10n systemd polkitd udisks2 network-manager pulseaudio gstreamer1.0-plugins-good xkb-data gvfs-common
  gnome-keyring mc-data mutt lynx-common nautilus-data gedit-common evince-common totem-common rhythmbox-data
  gnome-control-center-data gnome-terminal-data libvte-2.91-common file-roller synaptic filezilla-common pidgin-data
  hexchat-common geany-common thunar-data mousepad audacity-data inkscape gnumeric-common gnucash-common
  evolution-data-server-common libgweather-4-common gnome-shell-common gnome-software-common brasero-common
  cheese-common seahorse gnome-disk-utility gnome-system-monitor baobab eog gnome-calculator libadwaita-1-0
  libgtk-4-common texinfo xfce4-panel xfce4-session xfce4-settings libxfce4ui-common tumbler-common ristretto
  xfce4-terminal lightdm ibus-libpinyin fcitx5-data libpwquality-common diffutils gettext gnupg-l10n"}

sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
missing=()
for p in "${doc_pkgs[@]}"; do
  pol=$(apt-cache policy "$p" 2>/dev/null)
  cand=$(awk '/Candidate:/ {print $2}' <<<"$pol")
  if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then
    echo "make_training_data_zh: package $p is not available from apt here; its data is left out" >&2
    continue
  fi
  [ "$(awk '/Installed:/ {print $2}' <<<"$pol")" = "(none)" ] && missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "make_training_data_zh: installing ${missing[*]}" >&2
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
fi

# 2. catalogue packages: download and unpack only what is used
mkdir -p "$out/debs/root" "$out/po"
(
  cd "$out/debs"
  for p in $CATALOGUE_PKGS; do
    ls "${p}"_*.deb >/dev/null 2>&1 && continue
    apt-get download "$p" >/dev/null 2>&1 || echo "make_training_data_zh: cannot download $p; left out" >&2
  done
)
# the licences of a package's copyright file, as one line ("GPL-2+, LGPL-2.1+")
licences() {
  [ -f "$1" ] || { echo "see the package's copyright file"; return; }
  l=$(grep -E '^License:' "$1" | sed 's/^License:[[:space:]]*//' | awk 'NF && !seen[$0]++' | head -6 | paste -sd, -)
  [ -n "$l" ] && { echo "${l//,/, }"; return; }
  # an old-style copyright file: name the licences its text mentions
  l=$(grep -oiE 'GNU (Lesser |Library )?General Public License|Artistic License|BSD|MIT License|public domain' "$1" \
      | awk '{k=tolower($0)} !seen[k]++' | head -4 | paste -sd, -)
  if [ -n "$l" ]; then echo "${l//,/, } (named in the text of the copyright file)"
  else echo "see the package's copyright file"; fi
}
lic_tsv=$out/mo-licences.tsv
: > "$lic_tsv.tmp"
for deb in "$out"/debs/*.deb; do
  [ -e "$deb" ] || continue
  pkg=$(dpkg-deb -f "$deb" Package)
  ver=$(dpkg-deb -f "$deb" Version)
  dest=$out/debs/root/$pkg
  if [ ! -d "$dest" ]; then
    mkdir -p "$dest.tmp"
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dest.tmp" --wildcards '*/zh_CN/LC_MESSAGES/*.mo' \
      '*/zh_CN.UTF-8/LC_MESSAGES/*.mo' "./usr/share/doc/$pkg/copyright" 2>/dev/null || true
    mv "$dest.tmp" "$dest"
  fi
  while IFS= read -r mo; do
    printf '%s\t%s\t%s\t%s\t%s\n' "$(basename "$mo" .mo)" "$pkg" "$ver" \
      "$(licences "$dest/usr/share/doc/$pkg/copyright")" "$mo"
  done < <(find "$dest" -name '*.mo' | sort)
done >> "$lic_tsv.tmp"
# catalogues already installed on this system
for mo in /usr/share/locale/zh_CN/LC_MESSAGES/*.mo; do
  [ -e "$mo" ] || continue
  pkg=$(dpkg -S "$mo" 2>/dev/null | head -1 | cut -d: -f1)
  [ -n "$pkg" ] || continue
  ver=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null)
  printf '%s\t%s\t%s\t%s\t%s\n' "$(basename "$mo" .mo)" "$pkg" "$ver" "$(licences "/usr/share/doc/$pkg/copyright")" \
    "$mo"
done >> "$lic_tsv.tmp"
# one catalogue per domain (the first seen), converted with msgunfmt
awk -F'\t' '!seen[$1]++' "$lic_tsv.tmp" > "$lic_tsv"
rm -f "$lic_tsv.tmp"
while IFS=$'\t' read -r domain _ _ _ mo; do
  [ -s "$out/po/$domain.po" ] && continue
  if msgunfmt --no-wrap -o "$out/po/$domain.po.tmp" "$mo" 2>/dev/null; then
    mv "$out/po/$domain.po.tmp" "$out/po/$domain.po"
  else
    echo "make_training_data_zh: msgunfmt failed on $mo; skipped" >&2
    rm -f "$out/po/$domain.po.tmp"
  fi
done < "$lic_tsv"

python3 "$root/scripts/training_extract_zh.py" --out "$out" --po-dir "$out/po" --mo-licences "$lic_tsv"
echo "make_training_data_zh: done: $out (see $out/STATS and $out/LICENSES)" >&2
