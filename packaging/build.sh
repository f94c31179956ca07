#!/usr/bin/env bash
# Builds dist/hearken/ (a one-folder app) with PyInstaller; needs binutils (objdump).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
"$VENV/bin/pip" install -q "pyinstaller>=6.6"
"$VENV/bin/pyinstaller" --noconfirm --clean --distpath dist --workpath build/pyinstaller packaging/hearken.spec
echo "built: dist/hearken/hearken  (try: dist/hearken/hearken selftest)"
