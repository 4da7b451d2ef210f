#!/usr/bin/env bash
# Fetches Wine 8.0's IDL, C headers and widl (the C oracle) into DEST, unless already
# there: `apt-get download` + `dpkg -x`, no install (that would pull in all of Wine).
# The tree is built beside DEST and renamed into place, so an interrupted fetch is never
# taken for a finished one. Used by build scripts and tests that need widl and gcc.
set -euo pipefail
dest=${1:?usage: fetch-wine.sh DEST}
widl="$dest/usr/lib/wine/widl"
[[ -x $widl && -d $dest/usr/include/wine/wine/windows ]] && exit 0
mkdir -p "$(dirname "$dest")"
work=$(mktemp -d "$dest.partial.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
if ! apt-get download libwine-dev wine64-tools >/dev/null 2>&1; then
    echo "apt-get download failed; running apt-get update and retrying" >&2
    apt-get update >/dev/null
    apt-get download libwine-dev wine64-tools >/dev/null
fi
mkdir tree
for deb in ./*.deb; do dpkg -x "$deb" tree; done
[[ -x tree/usr/lib/wine/widl ]] || { echo "error: widl missing from wine64-tools" >&2; exit 1; }
rm -rf "$dest"
mv tree "$dest"
