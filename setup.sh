#!/usr/bin/env bash
# Set up the hand tracker on Debian/Ubuntu with Python 3.11+: system libraries (apt, when root or sudo works),
# then a virtual environment in .venv with the pinned packages.
#   ./setup.sh          runtime only (the tracker)
#   ./setup.sh --dev    runtime + training, export and test tools
set -euo pipefail
cd "$(dirname "$0")"
dev=0; [ "${1:-}" = "--dev" ] && dev=1

sys_pkgs=(libusb-1.0-0 libglib2.0-0 libegl1 libgl1 libx11-6 libdbus-1-3 libfontconfig1 libxkbcommon0
          libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0 libxcb-shape0
          libxcb-xkb1 libxkbcommon-x11-0 libxcb-util1 xvfb xauth)
# --dev: a headless browser for the test of the --stream live page (tests/browser.py).
if [ $dev = 1 ]; then sys_pkgs+=(chromium); fi
missing=()
for p in "${sys_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then apt_cmd=(apt-get); elif sudo -n true 2>/dev/null; then apt_cmd=(sudo apt-get);
  else echo "setup: missing system packages; install them first: sudo apt-get install ${missing[*]}" >&2; exit 1; fi
  echo "setup: installing system packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive "${apt_cmd[@]}" update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive "${apt_cmd[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

py=${PYTHON:-python3}
"$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "setup: Python 3.11 or newer is needed (found $("$py" --version 2>&1))" >&2; exit 1; }
[ -x .venv/bin/python ] || "$py" -m venv .venv
req=requirements.txt; [ $dev = 1 ] && req=requirements-dev.txt
.venv/bin/python -m pip install -q --disable-pip-version-check -r "$req"
# onnxruntime and onnxruntime-gpu both own the 'onnxruntime' module: never keep both.
if .venv/bin/python -m pip show -q onnxruntime >/dev/null 2>&1; then
  .venv/bin/python -m pip uninstall -q -y onnxruntime onnxruntime-gpu
  .venv/bin/python -m pip install -q --disable-pip-version-check onnxruntime-gpu==1.31.1
fi
echo "setup: ready (.venv)"
