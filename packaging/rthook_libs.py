# PyInstaller runtime hook: libraries the app finds with ctypes.util.find_library (sounddevice's
# PortAudio) are looked up beside the frozen app first.  On Linux find_library asks ldconfig, gcc
# or ld, none of which knows the bundle's folder (and an end user's machine may have no gcc).
import ctypes.util
import glob
import os
import sys

_system_find_library = ctypes.util.find_library


def _find_library(name):
    base = getattr(sys, "_MEIPASS", None)
    if base and sys.platform.startswith("linux"):
        for path in sorted(glob.glob(os.path.join(base, f"lib{name}.so*"))):
            return path
    return _system_find_library(name)


ctypes.util.find_library = _find_library
