"""Entry point: ``hearken`` / ``python -m app`` (and the frozen app's executable)."""

from __future__ import annotations

import multiprocessing
import os
import sys


def _ensure_streams() -> None:
    """A windowed (no console) frozen build starts with no stdout/stderr: give them somewhere to go."""
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115


def main(argv: list[str] | None = None) -> int:
    multiprocessing.freeze_support()
    _ensure_streams()
    args = sys.argv[1:] if argv is None else argv
    from app.preflight import CHILD_FLAG

    if args[:1] == [CHILD_FLAG]:
        from app.preflight import child_main

        return child_main(args[1:])
    from app.cli import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
