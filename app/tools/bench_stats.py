"""Small statistics the bench's figures share: percentiles, least-squares slopes, ratios."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pct(values: Sequence[float], q: float) -> float | None:
    vals = [float(v) for v in values if v is not None]
    if not vals:
        return None
    return round(float(np.percentile(vals, q)), 1)


def slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Least-squares slope of ys over xs (None with fewer than 3 points)."""
    pts = [(float(x), float(y)) for x, y in zip(xs, ys, strict=False) if y is not None]
    if len(pts) < 3:
        return None
    x = np.array([p[0] for p in pts])
    y = np.array([p[1] for p in pts])
    return round(float(np.polyfit(x, y, 1)[0]), 2)


def ratio_or_none(a: float, b: float) -> float | None:
    """``a / b`` to three decimals (None when ``b`` is not positive)."""
    return round(a / b, 3) if b > 0 else None
