from __future__ import annotations

import os
from pathlib import Path

import platformdirs
import pytest

DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(autouse=True, scope="session")
def _hearken_home(tmp_path_factory):
    """User dirs in a temp folder; the model cache (assembled weights) stays the real one."""
    if "HEARKEN_HOME" not in os.environ:
        home = tmp_path_factory.mktemp("hearken-home")
        real_cache = Path(platformdirs.user_cache_dir("hearken", appauthor=False))
        real_cache.mkdir(parents=True, exist_ok=True)
        (home / "cache").symlink_to(real_cache, target_is_directory=True)
        os.environ["HEARKEN_HOME"] = str(home)
    yield
