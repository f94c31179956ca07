"""``hearken bench`` runs on the real models and its figures are sane (no timing assertions)."""

from __future__ import annotations

import argparse
import json

import pytest

from app.tools.bench import run_bench
from app.tools.bench_path import ORDERED_STAMPS, SEGMENT_NAMES

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    args = argparse.Namespace(
        corpus=None,
        turns=3,
        json=out / "bench.json",
        plot=out / "bench.png",
        details=out / "details.json",
        no_baseline=False,
        no_turns=True,  # the turn-taking study has its own test (test_turn_taking.py)
        quiet=True,
        quiet_wait=0.0,  # never wait for a quiet machine here: the test checks sanity, not speed
        max_reply_tokens=24,  # short answers keep the test short; latency to first audio is unaffected
    )
    code = run_bench(args)
    return code, out


def test_bench_runs_and_writes_its_outputs(bench):
    code, out = bench
    assert code == 0
    png = (out / "bench.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_json_has_exactly_the_documented_keys(bench):
    _, out = bench
    data = json.loads((out / "bench.json").read_text())
    assert set(data) == {
        "machine",
        "turns",
        "voice_to_voice_ms",
        "baseline_voice_to_voice_ms",
        "ratio_p50",
        "skills",
        "stages_ms",
        "vad_ms_per_frame",
        "wake_ms_per_frame",
        "stt_rtf",
        "tts_rtf",
        "llm_tokens_per_s",
        "peak_rss_mb",
        "cold_start_s",
    }  # no "soak": fewer than 50 turns
    assert data["machine"]["cores"] >= 1 and data["machine"]["cpu"]
    # The three questions include "Set a timer for five minutes.": a skill turn like any other.
    sk = data["skills"]
    assert sk["enabled"] and set(sk) >= {"n", "v2v_p50_ms", "v2v_p95_ms", "names", "llm", "ratio_p50"}
    assert sk["n"] == len(sk["names"]) and sk["n"] + sk["llm"]["n"] == data["turns"]


def test_figures_are_positive_and_percentiles_ordered(bench):
    _, out = bench
    data = json.loads((out / "bench.json").read_text())
    assert data["turns"] >= 2  # three questions; allow one lost to a noisy neighbour
    for key in ("voice_to_voice_ms", "baseline_voice_to_voice_ms"):
        p50, p95 = data[key]["p50"], data[key]["p95"]
        assert 0 < p50 <= p95
    assert data["ratio_p50"] > 0
    for name in ("end_of_turn", "stt", "llm_first_token", "first_clause", "tts_first_chunk"):
        assert data["stages_ms"][name] > 0, name
    assert data["stages_ms"]["llm_first_token"] <= data["stages_ms"]["first_clause"]
    for key in (
        "vad_ms_per_frame",
        "wake_ms_per_frame",
        "stt_rtf",
        "tts_rtf",
        "llm_tokens_per_s",
        "peak_rss_mb",
        "cold_start_s",
    ):
        assert data[key] > 0, key


def test_every_turn_is_ordered_and_adds_up(bench):
    _, out = bench
    details = json.loads((out / "details.json").read_text())
    answered = [r for r in details["per_turn"] if r["voice_to_voice_ms"]]
    assert answered
    for row in answered:
        segs = row["segments_ms"]
        assert set(segs) == set(SEGMENT_NAMES)
        assert all(v >= 0 for v in segs.values()), segs
        assert sum(segs.values()) == pytest.approx(row["voice_to_voice_ms"], abs=0.5 * len(SEGMENT_NAMES))
        assert row["baseline_ms"] and row["baseline_ms"] > 0
    baseline = details["baseline"]["segments_p50"]
    assert all(v is not None and v >= 0 for v in baseline.values())
    assert baseline["end_of_turn_wait"] > 0 and baseline["stt"] > 0


def test_stamps_are_in_order(bench):
    _, out = bench
    details = json.loads((out / "details.json").read_text())
    assert details["stamps"]
    for t in details["stamps"]:
        for chain in ORDERED_STAMPS:
            times = [t[k] for k in chain]
            assert times == sorted(times), (chain, times)
