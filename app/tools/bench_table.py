"""The bench's figures as the table ``hearken bench`` prints, each against its target."""

from __future__ import annotations

from typing import Any

from app.tools.bench_baseline import BASELINE_SEGMENTS
from app.tools.bench_path import SEGMENT_NAMES

TARGETS = {
    "v2v_p50": 700.0,
    "v2v_p95": 1000.0,
    "ratio_p50": 0.35,
    "skill_ratio_p50": 1.0,  # issue 13: skill answers no slower, voice to voice, than the LLM's
    "vad_ms_per_frame": 0.3,
    "overhead_pct": 5.0,
    "peak_rss_mb": 1536.0,
    "cold_start_s": 4.0,
    "soak_first_token_ratio": 1.2,
    "soak_rss_growth_pct": 5.0,
    "busy_ratio_p50": 1.3,  # issue 15: beside a busy core, p50 at most 1.3x the quiet p50
}


def _llm_threads(cfg: dict[str, Any]) -> str:
    """The LLM's threads and where they came from (``bench.llm_setup``; 0 in an older summary: auto)."""
    if cfg.get("llm_batch_threads") is None and "llm_threads_source" not in cfg:
        return f"LLM threads {cfg.get('llm_threads')}"
    text = f"LLM threads: decode {cfg.get('llm_threads')}, prompt {cfg.get('llm_batch_threads')}"
    return text + f" ({cfg['llm_threads_source']})" if cfg.get("llm_threads_source") else text


def _fmt(v: Any, unit: str = "", nd: int = 0) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{nd}f}{unit}"
    return f"{v}{unit}"


def _mark(value: float | None, target: float) -> str:
    if value is None:
        return "  "
    return "ok" if value <= target else "!!"


def _skill_rows(sk: dict[str, Any] | None) -> list[tuple[str, str, str, str]]:
    """Skill answers against LLM answers, voice to voice (nothing when skills are off)."""
    if not sk or not sk.get("enabled", True):
        return []
    names = ", ".join(sorted(set(sk["names"])))
    lm = sk["llm"]
    return [
        (
            f"  skill answers ({sk['n']}{': ' + names if names else ''}) p50 / p95",
            f"{_fmt(sk['v2v_p50_ms'], ' ms')} / {_fmt(sk['v2v_p95_ms'], ' ms')}",
            "",
            "",
        ),
        (
            f"  LLM answers ({lm['n']}) p50 / p95; skill p50 / LLM p50",
            f"{_fmt(lm['v2v_p50_ms'], ' ms')} / {_fmt(lm['v2v_p95_ms'], ' ms')}; "
            f"{_fmt(sk['ratio_p50'], nd=3)}",
            "<= 1",
            _mark(sk["ratio_p50"], TARGETS["skill_ratio_p50"]),
        ),
    ]


def _busy_rows(busy: dict[str, Any] | None) -> list[tuple[str, str, str, str]]:
    """``--busy``: the same questions beside a process spinning on one core."""
    if not busy:
        return []
    v = busy["voice_to_voice_ms"]
    return [
        (
            "beside a busy core: v2v p50 / p95 / slowest",
            f"{_fmt(v['p50'], ' ms')} / {_fmt(v['p95'], ' ms')} / {_fmt(v['max'], ' ms')}",
            "",
            "",
        ),
        (
            "  busy p50 / quiet p50",
            _fmt(busy["ratio_to_quiet_p50"], "x", 2),
            f"<= {TARGETS['busy_ratio_p50']}x",
            _mark(busy["ratio_to_quiet_p50"], TARGETS["busy_ratio_p50"]),
        ),
        (
            "  turns over 3 s or unanswered",
            str(busy["turns_over_3s"]),
            "0",
            _mark(float(busy["turns_over_3s"]), 0.0),
        ),
        ("  LLM tokens/s (in engine, busy)", _fmt(busy.get("llm_tokens_per_s"), nd=1), "", ""),
    ]


def format_table(summary: dict[str, Any]) -> str:
    p = summary["public"]
    m = p["machine"]
    cpu = summary["cpu"]
    st = p["stages_ms"]
    seg = summary["segments_p50"]
    b = summary.get("baseline") or {}
    ov = summary.get("overhead") or {}
    lines: list[str] = []
    add = lines.append
    add("")
    add("Per turn (ms; stt, llm start and eot are measured from the end of speech)")
    add(
        f"{'#':>3} {'heard':<36} {'v2v':>6} {'eot':>5} {'stt':>5} {'llm@':>5} {'1sttok':>6} {'clause':>6} "
        f"{'tts':>5} {'eot>au':>6} {'base':>6} {'ratio':>6} {'busy%':>5}"
    )
    for r in summary["per_turn"]:
        s = r["stages_ms"]
        heard = (r["heard"] or r["item"])[:36]
        flag = f" (+{r['extra_turns']} cut)" if r["extra_turns"] else ""
        if r.get("skill"):
            flag = f" [skill {r['skill']}]" + flag
        add(
            f"{r['turn']:>3} {heard:<36} {_fmt(r['voice_to_voice_ms']):>6} {_fmt(s.get('end_of_turn')):>5} "
            f"{_fmt(s.get('stt')):>5} {_fmt(s.get('llm_start')):>5} {_fmt(s.get('llm_first_token')):>6} "
            f"{_fmt(s.get('first_clause')):>6} {_fmt(s.get('tts_first_chunk')):>5} "
            f"{_fmt(s.get('eot_to_first_audio')):>6} {_fmt(r['baseline_ms']):>6} {_fmt(r['ratio'], nd=2):>6} "
            f"{_fmt(r['other_cpu_pct']):>5}{flag}"
        )
    add("")
    add(f"Hearken bench — {p['turns']} answered turns, profile {summary['settings']['profile']}")
    add(
        f"machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; "
        f"load avg {cpu['load_start'][0]:.2f} -> {cpu['load_end'][0]:.2f}, "
        f"other processes used {cpu['other_processes_pct']:.0f}% of the CPUs during the engine run"
        + (f" (waited {cpu['waited_for_quiet_s']:.0f} s for quiet)" if cpu.get("waited_for_quiet_s") else "")
    )
    cfg = summary["settings"]
    add(
        f"settings: skills {'on' if cfg.get('skills', True) else 'off'} (timers and reminders in memory, "
        f"cancelled before each question); end-of-turn silence {cfg['end_of_turn_silence_ms']} ms, "
        f"speculative pause {cfg['speculative_pause_ms']} ms, {_llm_threads(cfg)}, "
        f"STT threads {cfg['stt_threads']}, max reply tokens {cfg['max_reply_tokens']}"
    )
    if "calibration" in cfg:
        from app.calibration import describe

        add(f"calibration: {describe(cfg['calibration'])} (hearken calibrate)")
    add("")
    rows: list[tuple[str, str, str, str]] = []
    v = p["voice_to_voice_ms"]
    bv = p["baseline_voice_to_voice_ms"]
    rows.append(
        ("voice-to-voice p50", _fmt(v["p50"], " ms"), "<= 700 ms", _mark(v["p50"], TARGETS["v2v_p50"]))
    )
    rows.append(
        ("voice-to-voice p95", _fmt(v["p95"], " ms"), "<= 1000 ms", _mark(v["p95"], TARGETS["v2v_p95"]))
    )
    rows.extend(_skill_rows(p.get("skills")))
    q = summary["quiet"]
    rows.append(
        (
            f"  on quiet turns only ({q['turns']} ours, {q['baseline_turns']} cascade)",
            f"{_fmt(q['p50'], ' ms')} / {_fmt(q['p95'], ' ms')}, ratio {_fmt(q['ratio_p50'], nd=3)}",
            "",
            "",
        )
    )
    rows.append(("plain cascade p50 / p95", f"{_fmt(bv['p50'], ' ms')} / {_fmt(bv['p95'], ' ms')}", "", ""))
    rows.append(
        (
            "ratio of medians (ours / cascade)",
            _fmt(p["ratio_p50"], nd=3),
            "<= 0.35",
            _mark(p["ratio_p50"], 0.35),
        )
    )
    rows.append(("  end-of-turn wait p50", _fmt(st["end_of_turn"], " ms"), "", ""))
    rows.append(("  STT done (after speech end) p50", _fmt(st["stt"], " ms"), "", ""))
    rows.append(("  LLM start (after speech end) p50", _fmt(st["llm_start"], " ms"), "", ""))
    rows.append(("  LLM first token p50", _fmt(st["llm_first_token"], " ms"), "", ""))
    rows.append(("  first clause (from LLM start) p50", _fmt(st["first_clause"], " ms"), "", ""))
    rows.append(("  TTS first chunk p50", _fmt(st["tts_first_chunk"], " ms"), "", ""))
    rows.append(("  end-of-turn decision to audio p50", _fmt(st["eot_to_first_audio"], " ms"), "", ""))
    rows.append(
        (
            "VAD per 32 ms frame",
            _fmt(p["vad_ms_per_frame"], " ms", 3),
            "<= 0.3 ms",
            _mark(p["vad_ms_per_frame"], 0.3),
        )
    )
    if "wake_ms_per_frame" in p:
        rows.append(("wake word per 32 ms frame", _fmt(p["wake_ms_per_frame"], " ms", 3), "", ""))
    rows.append(("STT real-time factor", _fmt(p["stt_rtf"], nd=3), "", ""))
    rows.append(("TTS real-time factor", _fmt(p["tts_rtf"], nd=3), "", ""))
    rows.append(("LLM tokens/s (in engine)", _fmt(p["llm_tokens_per_s"], nd=1), "", ""))
    rows.append(
        (
            "engine overhead over the libraries",
            _fmt(ov.get("overhead_pct"), " %", 1),
            "<= 5 %",
            _mark(ov.get("overhead_pct"), TARGETS["overhead_pct"]),
        )
    )
    rows.append(
        (
            "peak RSS",
            _fmt(p["peak_rss_mb"], " MB"),
            "<= 1536 MB",
            _mark(p["peak_rss_mb"], TARGETS["peak_rss_mb"]),
        )
    )
    rows.append(
        ("cold start to ready", _fmt(p["cold_start_s"], " s", 2), "<= 4 s", _mark(p["cold_start_s"], 4.0))
    )
    soak = p.get("soak")
    if soak:
        ft = soak.get("llm_first_token_ms", {})
        rs = soak.get("rss_mb", {})
        dr = soak.get("drift", {})
        rows.append(
            (
                f"soak: LLM first token turn {soak['turns']} / turn 1",
                f"{_fmt(ft.get('turn_last'))} / {_fmt(ft.get('turn_first'))} ms = {_fmt(ft.get('ratio'), nd=2)}x",
                "<= 1.2x",
                _mark(ft.get("ratio"), 1.2),
            )
        )
        rows.append(
            (
                "soak: same, mean of last 5 / first 5",
                f"{_fmt(ft.get('mean_last5'))} / {_fmt(ft.get('mean_first5'))} ms = "
                f"{_fmt(ft.get('ratio_mean5'), nd=2)}x",
                "",
                "",
            )
        )
        same = ft.get("same_questions")
        if same:
            rows.append(
                (
                    f"soak: same questions, last {same['turns']} turns / first time asked",
                    f"{_fmt(same.get('mean_late'))} / {_fmt(same.get('mean_first_time'))} ms = "
                    f"{_fmt(same.get('ratio'), nd=2)}x",
                    "<= 1.2x",
                    _mark(same.get("ratio"), 1.2),
                )
            )
        rows.append(
            (
                "soak: RSS growth after turn 1 (after 5)",
                f"{_fmt(rs.get('growth_pct'), ' %', 1)} ({_fmt(rs.get('growth_pct_after_turn_5'), ' %', 1)})",
                "<= +5 %",
                _mark(rs.get("growth_pct"), 5.0),
            )
        )
        rows.append(
            (
                "soak: drift of v2v / first token",
                f"{_fmt(dr.get('voice_to_voice_ms_per_turn'), ' ms', 1)} / "
                f"{_fmt(dr.get('llm_first_token_ms_per_turn'), ' ms', 1)} per turn",
                "",
                "",
            )
        )
    rows.extend(_busy_rows(p.get("busy")))
    w = max(len(r[0]) for r in rows)
    w2 = max(len(r[1]) for r in rows)
    add(f"{'figure':<{w}}  {'measured':>{w2}}  {'target':<10}")
    for name, val, target, mark in rows:
        add(f"{name:<{w}}  {val:>{w2}}  {target:<10} {mark}".rstrip())
    add("")
    order = " + ".join(f"{k} {_fmt(seg.get(k))}" for k in SEGMENT_NAMES)
    add(f"ours, critical path in serial pieces, p50 (ms): {order}")
    if b:
        bs = b["segments_p50"]
        add(
            "cascade, p50 of each segment (ms): "
            + " + ".join(f"{k} {_fmt(bs.get(k))}" for k in BASELINE_SEGMENTS)
        )
        add(
            f"libraries alone (cascade) vs inside the engine: STT RTF {_fmt(b.get('stt_rtf'), nd=3)} vs "
            f"{_fmt(p['stt_rtf'], nd=3)}; LLM first token {_fmt(b.get('llm_first_token_ms'))} vs "
            f"{_fmt(st['llm_first_token'])} ms; LLM {_fmt(b.get('llm_tokens_per_s'), nd=1)} vs "
            f"{_fmt(p['llm_tokens_per_s'], nd=1)} tokens/s; TTS RTF {_fmt(b.get('tts_rtf'), nd=3)} vs "
            f"{_fmt(p['tts_rtf'], nd=3)}"
        )
    if ov:
        o = ov["p50_ms"]
        add(
            f"engine overhead: {_fmt(ov.get('overhead_pct'), ' %', 1)} over all turns "
            f"(per-turn p50 {_fmt(ov.get('overhead_pct_p50'), ' %', 1)}); after the end-of-turn decision the "
            f"path is {_fmt(o['path_after_eot'])} ms p50: library {_fmt(o['library'])}, glue {_fmt(o['glue'])} "
            f"(before the LLM {_fmt(o['glue_before_llm'])}, in the LLM stream {_fmt(o['glue_llm_stream'])}, "
            f"around TTS {_fmt(o['glue_tts_clause'])}, output incl. the 20 ms block {_fmt(o['glue_output'])})"
        )
    add(
        f"VAD library call alone {_fmt(summary.get('vad_lib_ms_per_frame'), ' ms', 3)} per frame; "
        f"LLM tokens/s incl. prefill {_fmt(summary.get('llm_tokens_per_s_incl_prefill'), nd=1)}; "
        f"ru_maxrss {_fmt(summary.get('ru_maxrss_mb'), ' MB')}"
    )
    wake = summary.get("wake") or {}
    if wake.get("model") or wake.get("engine_ms_per_frame") is not None:
        add(
            f"wake word ({wake.get('model') or 'engine'}): in the engine "
            f"{_fmt(wake.get('engine_ms_per_frame'), ' ms', 3)} per frame (wake word mode only); "
            f"alone at real-time pace {_fmt(wake.get('paced_ms_per_frame'), ' ms', 3)} "
            f"(p99 {_fmt(wake.get('paced_ms_p99'), ' ms', 3)}), back to back "
            f"{_fmt(wake.get('back_to_back_ms_per_frame'), ' ms', 3)} (p99 {_fmt(wake.get('back_to_back_ms_p99'), ' ms', 3)})"
        )
    elif wake.get("error"):
        add(f"wake word not timed: {wake['error']}")
    if summary["missed"] or summary["false_cutoffs"]:
        add(
            f"unanswered questions: {summary['missed']}; questions split into two turns: {summary['false_cutoffs']}"
        )
    return "\n".join(lines) + "\n"
