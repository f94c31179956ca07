"""Copies the default ("fast") models, sha256-verified, into a folder laid out as the frozen app's
``<resources>/models/<id>/`` (see ``app.models.resolver._bundled``), so the bundle carries each model
once, already joined, instead of the pip packages' chunks.

    python packaging/stage_models.py OUT_DIR [--profile fast]
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import load_settings  # noqa: E402
from app.models.catalog import ROLES, entry_for, load_catalog  # noqa: E402
from app.models.resolver import resolve_entry  # noqa: E402

log = logging.getLogger("stage_models")


def stage(out: Path, profile: str) -> int:
    catalog = load_catalog()
    settings = load_settings({"profile": profile}, None)
    total = 0
    for role in ROLES:
        entry = entry_for(role, settings.profile, catalog=catalog)
        model = resolve_entry(entry, full_verify=True)  # sha256 of the weights, now
        base = out / entry.id
        if base.exists():
            shutil.rmtree(base)
        base.mkdir(parents=True)
        source_dir = model.path if model.path.is_dir() else model.path.parent
        weights = source_dir / entry.weights.file if model.path.is_dir() else model.path
        files = [(weights, entry.weights.file)]
        files += [(source_dir / ref.name, ref.name) for ref in entry.companions]
        if entry.config is not None and model.config_path is not None:
            files.append((model.config_path, entry.config.name))
        for src, name in files:
            shutil.copy2(src, base / name)
            total += (base / name).stat().st_size
        log.info("%s: %s (%d files)", role, entry.id, len(files))
    return total


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    p = argparse.ArgumentParser()
    p.add_argument("out", type=Path)
    p.add_argument("--profile", default="fast")
    args = p.parse_args()
    total = stage(args.out, args.profile)
    log.info("staged %.0f MB of models in %s", total / 1e6, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
