"""Devices, capture, output and the live watchdog on a fake sounddevice module (no sound card)."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

from app.audio import devices as dev
from app.audio.capture import MicCapture, SampleClock
from app.audio.devices import (
    INPUT,
    NO_DEVICES,
    OUTPUT,
    PORTAUDIO_MISSING,
    AudioUnavailable,
    DeviceInfo,
)
from app.audio.output import SpeakerOutput
from app.audio.playback import PlaybackBuffer
from app.messages import SAMPLE_RATE, AudioChunk, EndOfReply

# ====================================================================== a fake PortAudio


class PortAudioError(Exception):
    pass


class FakeStream:
    def __init__(self, sd: FakeSd, kind: str, **kw) -> None:
        self.sd, self.kind, self.kw = sd, kind, kw
        self.callback = kw["callback"]
        self.finished_callback = kw.get("finished_callback")
        self.samplerate = kw["samplerate"]
        self.channels = kw["channels"]
        self.latency = 0.04
        self.started = self.closed = False
        self.clock = 1000.0  # the stream's own clock (PortAudio time)
        sd.streams.append(self)

    def start(self) -> None:
        if self.sd.fail_start:
            raise PortAudioError(self.sd.fail_start)
        self.started = True

    def abort(self) -> None:
        self.started = False

    def close(self) -> None:
        self.closed = True

    def pump(self, frames: int, data: np.ndarray | None = None) -> np.ndarray | None:
        """One callback: input gets ``data``; output returns what the callback wrote."""
        ti = SimpleNamespace(
            currentTime=self.clock,
            inputBufferAdcTime=self.clock - 0.01,
            outputBufferDacTime=self.clock + 0.03,
        )
        self.clock += frames / self.samplerate
        if self.kind == INPUT:
            if data is None:
                data = np.zeros((frames, self.channels), np.float32)
            self.callback(data.astype(np.float32), frames, ti, None)
            return None
        out = np.zeros((frames, self.channels), np.float32)
        self.callback(out, frames, ti, None)
        return out

    def lose(self) -> None:
        """The device goes away: PortAudio ends the stream."""
        self.started = False
        if self.finished_callback:
            self.finished_callback()


class FakeSd:
    """Enough of sounddevice for the audio layer: devices, rate checks, streams, re-initialisation."""

    PortAudioError = PortAudioError

    def __init__(self, devices: list[dict] | None = None, default: tuple[int, int] = (0, 1)) -> None:
        self.devices = (
            devices
            if devices is not None
            else [
                dict(
                    name="USB Mic",
                    max_input_channels=2,
                    max_output_channels=0,
                    default_samplerate=44100.0,
                    rates=(48000,),
                ),
                dict(
                    name="Speakers (HDA)",
                    max_input_channels=0,
                    max_output_channels=2,
                    default_samplerate=48000.0,
                    rates=(44100, 48000),
                ),
                dict(
                    name="pulse",
                    max_input_channels=32,
                    max_output_channels=32,
                    default_samplerate=44100.0,
                    rates=None,
                ),
            ]
        )
        self.default = SimpleNamespace(device=list(default))
        self.streams: list[FakeStream] = []
        self.fail_start: str | None = None
        self.reinits = 0
        self.present = True

    def query_devices(self):
        if not self.present:
            raise PortAudioError("Error querying device -1")
        return [dict(d, index=i, hostapi=0) for i, d in enumerate(self.devices)]

    def query_hostapis(self):
        return [{"name": "ALSA"}]

    def _check(self, kind: str, device: int, samplerate: float, channels: int) -> None:
        if not self.present:
            raise PortAudioError("Error querying device -1")
        d = self.devices[device]
        most = d["max_input_channels"] if kind == INPUT else d["max_output_channels"]
        if channels > most or most == 0:
            raise PortAudioError("Invalid number of channels")
        if d.get("min_channels", 1) > channels:
            raise PortAudioError("Invalid number of channels")
        if d["rates"] is not None and int(samplerate) not in d["rates"]:
            raise PortAudioError("Error opening InputStream: Invalid sample rate [PaErrorCode -9997]")

    def check_input_settings(self, device, samplerate, channels, dtype):
        self._check(INPUT, device, samplerate, channels)

    def check_output_settings(self, device, samplerate, channels, dtype):
        self._check(OUTPUT, device, samplerate, channels)

    def InputStream(self, **kw):  # noqa: N802 - sounddevice's name
        self._check(INPUT, kw["device"], kw["samplerate"], kw["channels"])
        return FakeStream(self, INPUT, **kw)

    def OutputStream(self, **kw):  # noqa: N802
        self._check(OUTPUT, kw["device"], kw["samplerate"], kw["channels"])
        return FakeStream(self, OUTPUT, **kw)

    def _terminate(self) -> None:
        pass

    def _initialize(self) -> None:
        self.reinits += 1

    def stream(self, kind: str) -> FakeStream:
        return [s for s in self.streams if s.kind == kind and s.started][-1]


# ====================================================================== devices


def test_devices_are_listed_default_first():
    sd = FakeSd(default=(0, 1))
    ins = dev.list_devices(sd, INPUT)
    outs = dev.list_devices(sd, OUTPUT)
    assert [d.name for d in ins] == ["USB Mic", "pulse"]
    assert ins[0].is_default_input and outs[0].name == "Speakers (HDA)"
    assert all(d.hostapi == "ALSA" for d in ins)


def test_pick_by_part_of_the_name_any_case_or_index():
    sd = FakeSd()
    assert dev.pick_device(INPUT, "usb", sd=sd).device.name == "USB Mic"
    assert dev.pick_device(OUTPUT, "hda", sd=sd).device.name == "Speakers (HDA)"
    assert dev.pick_device(OUTPUT, "2", sd=sd).device.name == "pulse"
    choice = dev.pick_device(OUTPUT, None, sd=sd)
    assert choice.device.name == "Speakers (HDA)" and choice.notice is None


def test_a_missing_device_falls_back_to_the_default_with_a_notice():
    choice = dev.pick_device(INPUT, "Blue Yeti", sd=FakeSd())
    assert choice.device.name == "USB Mic"
    assert choice.notice == "The microphone 'Blue Yeti' is not connected; using 'USB Mic' instead."


def test_no_devices_at_all_is_one_clear_sentence():
    with pytest.raises(AudioUnavailable) as e:
        dev.pick_device(INPUT, None, sd=FakeSd(devices=[]))
    assert str(e.value) == NO_DEVICES
    sd = FakeSd()
    sd.present = False  # PortAudioError: Error querying device -1
    with pytest.raises(AudioUnavailable, match="No audio devices were found"):
        dev.pick_device(OUTPUT, None, sd=sd)
    only_out = FakeSd(devices=[FakeSd().devices[1]], default=(-1, 0))
    with pytest.raises(AudioUnavailable, match="^No microphone was found"):
        dev.pick_device(INPUT, None, sd=only_out)


def test_missing_portaudio_library_is_one_clear_sentence(monkeypatch, tmp_path):
    (tmp_path / "sounddevice.py").write_text("raise OSError('PortAudio library not found')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(dev, "_sd_module", None)
    with pytest.raises(AudioUnavailable) as e:
        dev.load_sounddevice()
    assert str(e.value) == PORTAUDIO_MISSING
    assert "libportaudio2" in str(e.value) and "\n" not in str(e.value)


def test_devices_command_prints_a_table_or_exits_4(monkeypatch, capsys):
    from app import cli

    monkeypatch.setattr(dev, "load_sounddevice", lambda: FakeSd())
    assert cli.cmd_devices(argparse.Namespace()) == 0
    out = capsys.readouterr().out
    assert "Microphones:" in out and "Speakers:" in out
    assert out.index("* ") < out.index("pulse")  # the default is marked and listed first

    def missing():
        raise AudioUnavailable(PORTAUDIO_MISSING)

    monkeypatch.setattr(dev, "load_sounddevice", missing)
    assert cli.cmd_devices(argparse.Namespace()) == 4
    err = capsys.readouterr().err
    assert err.strip() == f"hearken: {PORTAUDIO_MISSING}"
    monkeypatch.setattr(dev, "load_sounddevice", lambda: FakeSd(devices=[]))
    assert cli.cmd_devices(argparse.Namespace()) == 4


def test_a_48k_only_device_is_opened_at_48k_and_a_stereo_only_one_in_stereo():
    sd = FakeSd()
    usb = dev.list_devices(sd, INPUT)[0]
    assert usb.default_samplerate == 44100  # it claims 44.1 kHz but only takes 48 kHz
    assert dev.stream_formats(usb, INPUT, sd=sd)[0] == (48000, 1)
    sd.devices[0]["min_channels"] = 2
    assert dev.stream_formats(usb, INPUT, sd=sd)[0] == (48000, 2)
    sd.devices[0]["rates"] = (7350,)
    with pytest.raises(AudioUnavailable) as e:
        dev.stream_formats(usb, INPUT, sd=sd)
    assert "Invalid sample rate" not in str(e.value) and "choose another device" in str(e.value)


def test_the_choice_is_remembered_by_name():
    dev.remember(INPUT, "USB Mic")
    dev.remember(OUTPUT, "Speakers (HDA)")
    assert dev.remembered() == {"input": "USB Mic", "output": "Speakers (HDA)"}
    assert dev.wanted_device(INPUT, None) == "USB Mic"
    assert dev.wanted_device(INPUT, "pulse") == "pulse"  # the command line wins
    assert dev.wanted_device(INPUT, None, "from config") == "from config"


# ====================================================================== capture


def _info(sd: FakeSd, kind: str, name: str) -> DeviceInfo:
    return next(d for d in dev.list_devices(sd, kind) if d.name == name)


def _collect():
    got: list[tuple[np.ndarray, float]] = []
    done = threading.Event()

    def on_audio(samples: np.ndarray, t: float) -> None:
        got.append((samples, t))
        done.set()

    return got, on_audio


def _wait(pred, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_capture_mixes_stereo_48k_to_16k_mono_with_capture_times():
    sd = FakeSd()
    sd.devices[0]["min_channels"] = 2
    got, on_audio = _collect()
    mic = MicCapture(on_audio, _info(sd, INPUT, "USB Mic"), sd=sd)
    mic.start()
    try:
        assert (mic.rate, mic.channels) == (48000, 2)
        s = sd.stream(INPUT)
        tone = np.sin(2 * np.pi * 440 * np.arange(48000) / 48000).astype(np.float32)
        stereo = np.stack([tone, -tone * 0.0 + tone], axis=1) * 0.5
        t0 = time.perf_counter()
        for k, i in enumerate(range(0, 48000, 480)):  # at the pace of a real device
            time.sleep(max(0.0, t0 + k * 0.01 - time.perf_counter()))
            s.pump(480, stereo[i : i + 480])
        _wait(lambda: sum(len(a) for a, _ in got) >= 15000)
    finally:
        mic.stop()
    audio = np.concatenate([a for a, _ in got])
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert 15000 <= len(audio) <= 16000
    assert 0.3 < float(np.max(np.abs(audio[2000:]))) < 0.6  # mono mix of two 0.5 channels
    times = [t for _, t in got]
    steps = np.diff(times)
    lengths = [len(a) for a, _ in got][:-1]
    assert np.allclose(steps, np.array(lengths) / SAMPLE_RATE, atol=2e-3)  # one continuous clock


def test_capture_retries_another_rate_when_the_device_refuses_to_open():
    sd = FakeSd()
    pulse = _info(sd, INPUT, "pulse")
    real_input = sd.InputStream

    def picky(**kw):
        if kw["samplerate"] == 44100:
            raise PortAudioError("Error opening InputStream: Invalid sample rate [PaErrorCode -9997]")
        return real_input(**kw)

    sd.InputStream = picky  # type: ignore[method-assign]
    mic = MicCapture(lambda s, t: None, pulse, sd=sd)
    mic.start()
    mic.stop()
    assert mic.rate == 48000


def test_a_device_that_cannot_open_is_one_sentence():
    sd = FakeSd()
    sd.fail_start = "Device unavailable [PaErrorCode -9985]"
    with pytest.raises(AudioUnavailable, match="^The microphone 'pulse' could not be opened"):
        MicCapture(lambda s, t: None, _info(sd, INPUT, "pulse"), sd=sd).start()


def test_full_capture_queue_drops_the_oldest_and_counts():
    sd = FakeSd()
    gate = threading.Event()
    mic = MicCapture(lambda s, t: gate.wait(5), _info(sd, INPUT, "pulse"), sd=sd, max_queue=4)
    mic.start()
    try:
        s = sd.stream(INPUT)
        for _ in range(20):
            s.pump(441)
        assert mic.dropped_blocks >= 10
    finally:
        gate.set()
        mic.stop()


def test_a_stream_ending_by_itself_is_a_failure_but_stop_is_not():
    sd = FakeSd()
    mic = MicCapture(lambda s, t: None, _info(sd, INPUT, "pulse"), sd=sd)
    mic.start()
    sd.stream(INPUT).lose()
    assert mic.failed.is_set() and "stopped" in mic.fail_reason
    mic.stop()
    mic2 = MicCapture(lambda s, t: None, _info(sd, INPUT, "pulse"), sd=sd)
    mic2.start()
    stream = sd.stream(INPUT)
    mic2.stop()
    stream.lose()  # PortAudio calls finished_callback after an intended stop too
    assert not mic2.failed.is_set()


def test_sample_clock_smooths_jitter_and_follows_jumps():
    c = SampleClock(16000)
    rng = np.random.default_rng(0)
    starts = [c.update(10.0 + i * 0.016 + rng.normal(0, 0.004), 256)[0] for i in range(200)]
    assert np.allclose(np.diff(starts), 0.016, atol=5e-4)
    start, jumped = c.update(10.0 + 200 * 0.016 + 1.0, 256)  # a stalled second
    assert jumped and abs(start - (10.0 + 200 * 0.016 + 1.0)) < 1e-6


# ====================================================================== output


def _chunk(samples: np.ndarray, rate: int, turn: int = 1) -> AudioChunk:
    return AudioChunk(turn, 0, 0, samples.astype(np.float32), rate, "hello there", True)


def test_output_callback_reads_the_buffer_at_the_dac_time_and_taps_the_reference():
    sd = FakeSd()
    buf = PlaybackBuffer(48000)
    tapped: list[tuple[np.ndarray, float, int]] = []
    spk = SpeakerOutput(
        buf, _info(sd, OUTPUT, "Speakers (HDA)"), tap=lambda s, t, r: tapped.append((s, t, r)), sd=sd
    )
    spk.start()
    assert (spk.rate, spk.channels) == (48000, 1)
    s = sd.stream(OUTPUT)
    x = np.linspace(0.1, 0.2, 960)
    buf.enqueue(_chunk(x, 48000))
    buf.enqueue(EndOfReply(1, 0))
    before = time.perf_counter()
    out = s.pump(480)
    first = buf.events.get(timeout=1)
    assert first.kind == "first_audio"
    assert before + 0.029 < first.t < time.perf_counter() + 0.031  # when it reaches the speaker
    assert np.allclose(out[:, 0], x[:480])
    assert np.allclose(tapped[0][0], x[:480]) and tapped[0][2] == 48000
    spk.paused = True
    assert not s.pump(480).any() and buf.pending_samples() == 480  # paused: nothing consumed
    spk.paused = False
    assert np.allclose(s.pump(480)[:, 0], x[480:])
    spk.paused = True  # a barge-in pause right after the last sample does not hold the end back
    s.pump(480)
    assert buf.events.get(timeout=1).kind == "reply_done" and not buf.busy()
    spk.paused = False
    assert spk.audible_until > 0
    spk.stop()


def test_output_resamples_when_the_device_takes_another_rate():
    sd = FakeSd()
    sd.devices[1]["rates"] = (48000,)
    buf = PlaybackBuffer(22050)
    spk = SpeakerOutput(buf, _info(sd, OUTPUT, "Speakers (HDA)"), sd=sd)
    spk.start()
    assert spk.rate == 48000
    tone = 0.3 * np.sin(2 * np.pi * 300 * np.arange(22050) / 22050)
    buf.enqueue(_chunk(tone, 22050))
    buf.enqueue(EndOfReply(1, 0))
    s = sd.stream(OUTPUT)
    out = np.concatenate([s.pump(512)[:, 0] for _ in range(100)])
    spk.stop()
    assert abs(float(np.max(np.abs(out))) - 0.3) < 0.03
    played = np.flatnonzero(np.abs(out) > 0.01)
    assert abs(len(out[played[0] : played[-1]]) - 48000) < 500  # one second at the device's rate


# ====================================================================== live: watchdog and CLI


@pytest.fixture
def live_on_fakes():
    from app.live import LiveAudio
    from tests.fakes import make_orchestrator

    orch = make_orchestrator()
    engine = SimpleNamespace(orchestrator=orch, playback=orch.playback)
    sd = FakeSd(default=(2, 2))
    live = LiveAudio(engine, sd=sd, retry_s=0.05, stall_s=5.0)
    yield live, sd, orch
    live.stop()


def test_device_loss_is_reported_and_recovered(live_on_fakes):
    from app.messages import Notice

    live, sd, orch = live_on_fakes
    live.start()
    assert live.mic is not None and live.speaker is not None
    sd.present = False
    sd.stream(OUTPUT).lose()
    _wait(live.lost.is_set)
    assert live.mic is None and live.speaker is None  # both streams closed cleanly
    time.sleep(0.2)  # still gone: retries fail quietly
    assert not live.recovered.is_set()
    sd.present = True
    _wait(live.recovered.is_set)
    assert sd.reinits >= 1  # PortAudio was re-initialised to see the device again
    assert live.mic is not None and live.speaker is not None
    notices = []
    while not orch.ui_queue.empty():
        ev = orch.ui_queue.get()
        if isinstance(ev, Notice):
            notices.append(ev.message)
    assert any(n.startswith("Audio device lost") for n in notices)
    assert any(n.startswith("Audio is back") for n in notices)
    kinds = [e["event"] for e in live.report()["events"]]
    assert kinds[:3] == ["open", "lost", "open"] and "recovered" in kinds


def test_listen_mic_without_portaudio_exits_4(monkeypatch, capsys):
    import app.live as live_mod

    def missing():
        raise AudioUnavailable(PORTAUDIO_MISSING)

    monkeypatch.setattr(live_mod, "load_sounddevice", missing)
    args = argparse.Namespace(
        input_device=None, output_device=None, quit_after_turns=1, report=None, config=None
    )
    assert live_mod.listen_live(args) == 4
    assert capsys.readouterr().err.strip() == f"hearken: {PORTAUDIO_MISSING}"


def test_module_has_no_print_outside_the_cli():
    import inspect

    import app.audio.capture as capture
    import app.audio.echo as echo
    import app.audio.output as output

    for mod in (capture, output, echo):
        assert "print(" not in inspect.getsource(mod)
