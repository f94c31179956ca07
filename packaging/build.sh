#!/usr/bin/env bash
# `make package`: from a clean clone, the one-folder app (dist/hearken/), a .deb and a .tar.gz.
#   1. the README set-up (Debian packages, pinned .venv, llama.cpp for this CPU, models)
#   2. the default models, joined and sha256-verified, staged for the bundle
#   3. PyInstaller (pinned in constraints.txt) builds dist/hearken/
#   4. a smoke test of the frozen app (its native preflight: every engine once, in a child)
#   5. dist/hearken_<version>_<arch>.deb and dist/hearken-<version>-linux-<machine>.tar.gz
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export VENV
start=$(date +%s)

# + what the installers' proof needs: a Debian root (debootstrap), an emulated CPU (qemu-user)
HEARKEN_EXTRA_APT="debootstrap qemu-user iproute2" bash scripts/setup.sh
"$VENV/bin/pip" install -q -c constraints.txt pyinstaller pyinstaller-hooks-contrib

echo "== staging the default models (sha256-verified)"
rm -rf build/models
"$VENV/bin/python" packaging/stage_models.py build/models

# The set-up builds llama.cpp for this CPU (AVX-512 where it has it); the bundle runs on other
# computers, so it gets the portable x86-64-v3 build, installed beside the .venv and put first
# on PyInstaller's path (packaging/check_portable.sh proves it under an AVX2-only CPU).
echo "== the portable llama.cpp for the bundle"
portable=$(bash scripts/build_llama.sh)  # the set-up's own (cached): x86-64-v3, x86-64 or generic
case "$(basename "$(dirname "$portable")")" in
  *-avx512-*|*-native-*) portable=$(HEARKEN_LLAMA_CPU=x86-64-v3 bash scripts/build_llama.sh) ;;
esac
rm -rf build/llama-portable
"$VENV/bin/pip" install -q --no-deps --target build/llama-portable "$portable"

echo "== PyInstaller"
PYTHONPATH="$PWD/build/llama-portable" HEARKEN_STAGED_MODELS="$PWD/build/models" \
  "$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/hearken.spec

echo "== smoke test of the frozen app"
smoke_home=$(mktemp -d)
trap 'rm -rf "$smoke_home"' EXIT
HEARKEN_HOME="$smoke_home" QT_QPA_PLATFORM=offscreen dist/hearken/hearken --version
HEARKEN_HOME="$smoke_home" dist/hearken/hearken models --verify
HEARKEN_HOME="$smoke_home" dist/hearken/hearken selftest  # every native engine, then a spoken turn

bash packaging/make_deb.sh
version=$("$VENV/bin/python" -c 'import app; print(app.__version__)')
tarball="dist/hearken-$version-linux-$(uname -m).tar.gz"
tar -C dist -I "gzip -1" -cf "$tarball" hearken
echo "== built in $(( $(date +%s) - start )) s:"
du -sh dist/hearken
ls -la dist/*.deb "$tarball"
