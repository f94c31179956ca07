"""Where things live: bundled resources (frozen-aware) and per-user dirs.

Every path the app reads or writes goes through this module, so a PyInstaller
bundle and a source checkout behave the same.  ``HEARKEN_HOME`` points all user
dirs at one folder (tests and portable installs use it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "hearken"


def resource_root() -> Path:
    """Root of bundled read-only resources (``models/``, ``assets/``)."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen)
    return Path(__file__).resolve().parent.parent


def resource(*parts: str) -> Path:
    return resource_root().joinpath(*parts)


def _home() -> Path | None:
    home = os.environ.get("HEARKEN_HOME")
    return Path(home).expanduser() if home else None


def _user_dir(kind: str) -> Path:
    home = _home()
    if home is not None:
        path = home / kind
    else:
        getter = {
            "cache": platformdirs.user_cache_dir,
            "data": platformdirs.user_data_dir,
            "config": platformdirs.user_config_dir,
            "log": platformdirs.user_log_dir,
        }[kind]
        path = Path(getter(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    return _user_dir("cache")


def data_dir() -> Path:
    return _user_dir("data")


def config_dir() -> Path:
    return _user_dir("config")


def log_dir() -> Path:
    return _user_dir("log")
