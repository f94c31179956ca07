"""sha256 checks that are cheap after the first time.

Hashing the 491 MB language model takes over a second, too slow for every start.
After a file has been hashed, a small JSON stamp (path, size, mtime_ns, sha256) is
kept in ``<cache>/verified/``; while the file's size and mtime still match the stamp,
its recorded digest is trusted.  ``full=True`` always hashes (and refreshes the stamp).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

from app import paths

log = logging.getLogger(__name__)

CHUNK = 4 * 1024 * 1024


def sha256_file(path: Path) -> str:
    """Full sha256 of ``path`` (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def stamp_dir() -> Path:
    return paths.cache_dir() / "verified"


def _stamp_path(path: Path) -> Path:
    key = hashlib.sha256(str(path).encode("utf-8", "surrogateescape")).hexdigest()[:24]
    return stamp_dir() / f"{path.name[:40]}-{key}.json"


def read_stamp(path: Path) -> str | None:
    """The trusted sha256 of ``path`` if an up-to-date stamp exists, else None."""
    path = Path(os.path.abspath(path))
    try:
        st = path.stat()
        data = json.loads(_stamp_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (
        isinstance(data, dict)
        and data.get("path") == str(path)
        and data.get("size") == st.st_size
        and data.get("mtime_ns") == st.st_mtime_ns
        and isinstance(data.get("sha256"), str)
    ):
        return data["sha256"]
    return None


def write_stamp(path: Path, sha256: str, st: os.stat_result | None = None) -> None:
    """Record that ``path`` (as it is now, or as ``st`` was) has digest ``sha256``.  Best effort."""
    path = Path(os.path.abspath(path))
    try:
        st = st or path.stat()
        target = _stamp_path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        data = {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha256}
        fd, tmp = tempfile.mkstemp(prefix=".stamp-", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        log.warning("cannot write verification stamp for %s: %s", path, exc)


def digest(path: Path, *, full: bool = False) -> str:
    """sha256 of ``path``: from its stamp when still valid (unless ``full``), else hashed and stamped."""
    if not full:
        cached = read_stamp(path)
        if cached is not None:
            return cached
    before = os.stat(path)
    log.info("hashing %s (%.0f MB)", path, before.st_size / 1e6)
    value = sha256_file(path)
    after = os.stat(path)
    if (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns):
        write_stamp(path, value, after)
    return value
