#!/usr/bin/env bash
# Installs the wire harness's independent implementations (see
# shared/ORACLES.md): Samba's DCE/RPC server and ndrdump, smbclient,
# tshark, Wine's rpcrt4 (wine64) with the mingw-w64 cross compiler and
# widl that build its client and server, and a Python venv with impacket. Idempotent and non-interactive;
# run as root on Debian 12:
#   bash tests/wire/setup.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/target/wire/venv"
impacket_version="0.13.1"

export DEBIAN_FRONTEND=noninteractive

apt_packages=(samba samba-testsuite smbclient tshark python3-venv iproute2
    wine64 wine gcc-mingw-w64-x86-64-win32 mingw-w64-tools)
missing=()
for p in "${apt_packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    # tshark's postinst asks whether non-root users may capture: no.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
command -v ndrdump >/dev/null || { echo "setup.sh: ndrdump missing after install" >&2; exit 1; }
for t in /usr/lib/wine/wine64 /usr/lib/wine/wineserver64 x86_64-w64-mingw32-gcc-win32 x86_64-w64-mingw32-widl; do
    command -v "$t" >/dev/null || { echo "setup.sh: $t missing after install" >&2; exit 1; }
done

# Debian's own python3, not whatever a version manager puts first on PATH.
py=/usr/bin/python3
if [ ! -x "$venv/bin/python" ]; then
    mkdir -p "$(dirname "$venv")"
    "$py" -m venv "$venv"
fi
have="$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("impacket"))' 2>/dev/null || true)"
if [ "$have" != "$impacket_version" ]; then
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "impacket==$impacket_version"
fi
echo "setup.sh: ndrdump $(command -v ndrdump), tshark $(tshark --version 2>/dev/null | head -1 | awk '{print $3}'), impacket $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("impacket"))')"
