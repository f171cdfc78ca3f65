#!/usr/bin/env bash
# Debian packages the tests need: Xvfb and xdotool for the studio tests, Mesa (llvmpipe) for OpenGL
# through EGL without a display, ImageMagick for screenshots, ffmpeg for ffprobe (reads exported videos
# as players do). Installs only what is missing, and only
# as root; otherwise it names what to install.
set -euo pipefail
pkgs=(xvfb xauth libgl1-mesa-dri libglx-mesa0 libgl1 libegl1 libegl-mesa0 libgles2 libosmesa6 mesa-utils
      xdotool x11-utils imagemagick ffmpeg)
missing=()
# node's glTF validator (tools/package.json, pinned by its lock file) checks the rig export in the tests
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if command -v npm >/dev/null 2>&1; then
  [ -d "$here/tools/node_modules/gltf-validator" ] || (cd "$here/tools" && npm ci --no-audit --no-fund --silent)
else
  echo "install-system-deps: npm not found; install Node.js to run the glTF validator tests" >&2
fi
if ! command -v dpkg >/dev/null 2>&1; then
  echo "install-system-deps: not a Debian system; make sure Xvfb, xdotool and Mesa (EGL) are installed" >&2
  exit 0
fi
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "install-system-deps: missing ${missing[*]}; run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
