"""The bench's wake word timing: paced and back-to-back costs per 32 ms frame."""

from __future__ import annotations

import numpy as np

from app.messages import FRAME
from app.tools.bench_wake import FRAME_S, frame_costs


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.slept += s
        self.now += s


class CostlyWake:
    """Each score costs ``cost`` seconds of the fake clock; every 10th call ten times as much."""

    def __init__(self, clock: Clock, cost: float) -> None:
        self.clock, self.cost, self.calls, self.resets = clock, cost, 0, 0

    def score(self, frame: np.ndarray) -> float:
        assert frame.shape == (FRAME,)
        self.calls += 1
        self.clock.now += self.cost * (10 if self.calls % 10 == 0 else 1)
        return 0.0

    def reset(self) -> None:
        self.resets += 1


def test_frame_costs_paces_then_runs_back_to_back():
    clock = Clock()
    det = CostlyWake(clock, 0.0001)
    audios = [np.zeros(100 * FRAME + 7, np.float32), np.zeros(50 * FRAME, np.float32)]
    out = frame_costs(det, audios, paced_s=40 * FRAME_S, clock=clock, sleep=clock.sleep)
    assert out["paced_frames"] == 40 and out["back_to_back_frames"] == 150
    assert det.calls == 190 and det.resets == 2
    # paced: a frame every 32 ms, so the clock slept the rest of each slot
    assert abs(clock.slept - (39 * FRAME_S - 39 * 0.0001 - 3 * 0.0009)) < 1e-6
    mean = 0.9 * 0.1 + 0.1 * 1.0  # ms: nine calls of 0.1 ms, one of 1 ms
    assert abs(out["back_to_back_ms_per_frame"] - mean) < 1e-4
    assert abs(out["paced_ms_per_frame"] - mean) < 1e-4
    assert out["back_to_back_ms_p99"] == 1.0
