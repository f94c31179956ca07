#!/usr/bin/env bash
# dist/hearken/ -> dist/hearken_<version>_<arch>.deb: the app in /opt/hearken, `hearken` on the
# PATH, a desktop entry and icons.  Depends: what the bundle takes from the system (checked by
# packaging/test_clean_root.sh in a minimal Debian root).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
[ -x dist/hearken/hearken ] || { echo "make_deb: build dist/hearken first (packaging/build.sh)" >&2; exit 1; }
version=$("$VENV/bin/python" -c 'import app; print(app.__version__)')
arch=$(dpkg --print-architecture)
root=build/deb/hearken
rm -rf build/deb
mkdir -p "$root/DEBIAN" "$root/opt" "$root/usr/bin" "$root/usr/share/applications" \
  "$root/usr/share/icons/hicolor/scalable/apps" "$root/usr/share/icons/hicolor/256x256/apps" \
  "$root/usr/share/doc/hearken"
cp -a dist/hearken "$root/opt/hearken"
ln -s /opt/hearken/hearken "$root/usr/bin/hearken"
install -m 644 packaging/linux/hearken.desktop "$root/usr/share/applications/hearken.desktop"
install -m 644 assets/hearken.svg "$root/usr/share/icons/hicolor/scalable/apps/hearken.svg"
install -m 644 assets/hearken.png "$root/usr/share/icons/hicolor/256x256/apps/hearken.png"
install -m 644 packaging/linux/copyright "$root/usr/share/doc/hearken/copyright"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
depends=$(grep -v '^#' packaging/linux/depends | sed '/^$/d' | paste -sd, | sed 's/,/, /g')
cat > "$root/DEBIAN/control" <<CONTROL
Package: hearken
Version: $version
Architecture: $arch
Maintainer: Hearken developers <hearken@localhost>
Installed-Size: $size
Depends: $depends
Recommends: libasound2-plugins, pulseaudio | pipewire-pulse
Section: sound
Priority: optional
Description: private, offline, hands-free voice assistant
 Talk to your computer and it answers out loud, with nothing leaving the machine:
 Silero VAD, Whisper (faster-whisper), a local quantized LLM (llama.cpp) and piper,
 all streaming on an ordinary CPU.  The default models are inside the package.
CONTROL
dpkg-deb --root-owner-group -Zzstd -z3 --build "$root" "dist/hearken_${version}_${arch}.deb" >/dev/null
echo "built dist/hearken_${version}_${arch}.deb"
