#!/usr/bin/env bash
# Set up the hand tracker on Debian/Ubuntu with Python 3.11+: system libraries (apt, when root or sudo works),
# then a virtual environment in .venv with the pinned packages.
#   ./setup.sh          runtime only (the tracker)
#   ./setup.sh --dev    runtime + training, export and test tools
#   ./setup.sh --gpu    also NVIDIA's CUDA 13 and cuDNN 9 libraries as pip wheels (onnxruntime-gpu[cuda,cudnn]),
#                       so that --provider auto/cuda runs on an NVIDIA GPU (needs the NVIDIA driver); combines
#                       with --dev
set -euo pipefail
cd "$(dirname "$0")"
dev=0; gpu=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    --gpu) gpu=1 ;;
    *) echo "setup: unknown option $arg (use --dev and/or --gpu)" >&2; exit 2 ;;
  esac
done

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
pip_install() { .venv/bin/python -m pip install -q --disable-pip-version-check "$@"; }
req=requirements.txt; [ $dev = 1 ] && req=requirements-dev.txt
if ! log=$(pip_install -r "$req" 2>&1); then
  if ! grep -q "No matching distribution found for pyrealsense2" <<<"$log"; then echo "$log" >&2; exit 1; fi
  # pyrealsense2 has no wheel for some platforms and Python versions: everything but the camera and .bag/.db3
  # playback works without it (the tracker says so when a RealSense source is asked for).
  echo "setup: pyrealsense2 has no wheel for this platform or Python; installing without it (synthetic, session" \
       "and PNG input work; the RealSense camera and .bag/.db3 files need it)"
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  grep -v '^pyrealsense2' requirements.txt >"$tmp/requirements.txt"
  sed "s#^-r requirements.txt#-r $tmp/requirements.txt#" requirements-dev.txt >"$tmp/requirements-dev.txt"
  pip_install -r "$tmp/$req"
fi
# onnxruntime and onnxruntime-gpu both own the 'onnxruntime' module: never keep both.
ort=$(grep -E '^onnxruntime-gpu==' requirements.txt)
if .venv/bin/python -m pip show -q onnxruntime >/dev/null 2>&1; then
  .venv/bin/python -m pip uninstall -q -y onnxruntime onnxruntime-gpu
  pip_install "$ort"
fi
if [ $gpu = 1 ]; then
  # The same onnxruntime-gpu with its CUDA and cuDNN extras; the estimator loads them from site-packages/nvidia
  # (onnxruntime.preload_dlls) before it asks for CUDA.
  pip_install "onnxruntime-gpu[cuda,cudnn]==${ort#onnxruntime-gpu==}"
  .venv/bin/python -c 'from app.tracking.estimator import prepare_cuda
problem = prepare_cuda()
print("setup: CUDA is ready for the tracker" if problem is None else f"setup: CUDA is not usable yet: {problem}")'
fi
echo "setup: ready (.venv)"
