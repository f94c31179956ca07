"""Sound devices through sounddevice/PortAudio: list, pick by name, remember, fall back, re-initialise.

Everything that can go wrong with audio hardware ends here as one ``AudioUnavailable``
sentence that says what to do (no PortAudio library, no devices, a device that takes
none of the usual sample rates).  The rest of the app keeps working without audio.

Tests pass a fake module as ``sd``; the app uses :func:`load_sounddevice`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

INPUT, OUTPUT = "input", "output"
#: Rates tried after the device's own default rate (most devices take 48 or 44.1 kHz).
COMMON_RATES = (48000, 44100, 32000, 22050, 16000, 24000, 96000, 88200, 11025, 8000)

PORTAUDIO_MISSING = (
    "No audio: the PortAudio library is not installed "
    "(on Debian or Ubuntu: sudo apt-get install libportaudio2)."
)
NO_DEVICES = (
    "No audio devices were found: connect a microphone and speakers, or start the sound server "
    "(PulseAudio or PipeWire), then try again."
)
_KIND_WORD = {INPUT: "microphone", OUTPUT: "speaker"}


class AudioUnavailable(RuntimeError):
    """Audio cannot be used; ``str(exc)`` is one sentence for the user."""


_sd_lock = threading.RLock()
_sd_module: Any = None


def load_sounddevice() -> Any:
    """The ``sounddevice`` module, or ``AudioUnavailable`` when PortAudio is missing."""
    global _sd_module
    with _sd_lock:
        if _sd_module is None:
            try:
                import sounddevice
            except OSError as exc:  # "PortAudio library not found"
                log.debug("import sounddevice: %s", exc)
                raise AudioUnavailable(PORTAUDIO_MISSING) from exc
            except ImportError as exc:
                raise AudioUnavailable(
                    "No audio: the Python package 'sounddevice' is not installed (pip install sounddevice)."
                ) from exc
            _sd_module = sounddevice
        return _sd_module


def reinitialize(sd: Any | None = None) -> None:
    """Re-scan devices (PortAudio enumerates once at start-up). Close every stream first."""
    sd = sd if sd is not None else load_sounddevice()
    with _sd_lock:
        try:
            sd._terminate()
        except Exception:  # noqa: BLE001 - already terminated
            log.debug("PortAudio terminate failed", exc_info=True)
        sd._initialize()


@dataclass(frozen=True)
class DeviceInfo:
    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    is_default_input: bool = False
    is_default_output: bool = False

    def channels(self, kind: str) -> int:
        return self.max_input_channels if kind == INPUT else self.max_output_channels

    def is_default(self, kind: str) -> bool:
        return self.is_default_input if kind == INPUT else self.is_default_output


@dataclass(frozen=True)
class DeviceChoice:
    """The device to open; ``notice`` is set when the wanted one was not found."""

    device: DeviceInfo
    notice: str | None = None


def _default_indices(sd: Any) -> tuple[int, int]:
    try:
        dflt = sd.default.device
        din, dout = (int(dflt[0]), int(dflt[1]))
    except Exception:  # noqa: BLE001 - some fakes/backends have no default
        din, dout = -1, -1
    return din, dout


def list_devices(sd: Any | None = None, kind: str | None = None) -> list[DeviceInfo]:
    """Devices (of ``kind``: "input"/"output"/None for all), the system default first."""
    sd = sd if sd is not None else load_sounddevice()
    try:
        raw = list(sd.query_devices())
        apis = list(sd.query_hostapis())
    except Exception as exc:  # noqa: BLE001 - PortAudioError when nothing can be queried
        log.debug("query_devices: %s", exc)
        return []
    din, dout = _default_indices(sd)
    out: list[DeviceInfo] = []
    for i, d in enumerate(raw):
        api = d.get("hostapi", 0)
        info = DeviceInfo(
            index=int(d.get("index", i)),
            name=str(d["name"]),
            hostapi=str(apis[api]["name"]) if 0 <= api < len(apis) else "?",
            max_input_channels=int(d.get("max_input_channels", 0)),
            max_output_channels=int(d.get("max_output_channels", 0)),
            default_samplerate=float(d.get("default_samplerate", 0.0) or 0.0),
            is_default_input=int(d.get("index", i)) == din,
            is_default_output=int(d.get("index", i)) == dout,
        )
        if kind is None or info.channels(kind) > 0:
            out.append(info)
    if kind is not None:
        out.sort(key=lambda d: not d.is_default(kind))
    else:
        out.sort(key=lambda d: not (d.is_default_input or d.is_default_output))
    return out


def default_device(devices: list[DeviceInfo], kind: str) -> DeviceInfo | None:
    for d in devices:
        if d.is_default(kind):
            return d
    # No system default (some ALSA set-ups): prefer the sound server's device, then the first.
    for name in ("default", "pulse", "pipewire"):
        for d in devices:
            if d.name.lower() == name:
                return d
    return devices[0] if devices else None


def find_device(devices: list[DeviceInfo], wanted: str) -> DeviceInfo | None:
    """Exact name, then case-insensitive exact, then the first whose name contains ``wanted``."""
    w = wanted.strip()
    if not w:
        return None
    if w.isdigit():
        for d in devices:
            if d.index == int(w):
                return d
    for d in devices:
        if d.name == w:
            return d
    low = w.lower()
    for d in devices:
        if d.name.lower() == low:
            return d
    for d in devices:
        if low in d.name.lower():
            return d
    return None


def pick_device(kind: str, wanted: str | None = None, sd: Any | None = None) -> DeviceChoice:
    """The device the user asked for (by name or part of it), else the default, with a notice."""
    sd = sd if sd is not None else load_sounddevice()
    devices = list_devices(sd, kind)
    if not devices:
        if not list_devices(sd):
            raise AudioUnavailable(NO_DEVICES)
        raise AudioUnavailable(
            f"No {_KIND_WORD[kind]} was found: connect one (or check the sound settings) and try again."
        )
    fallback = default_device(devices, kind)
    assert fallback is not None
    if not wanted:
        return DeviceChoice(fallback)
    found = find_device(devices, wanted)
    if found is not None:
        return DeviceChoice(found)
    notice = f"The {_KIND_WORD[kind]} '{wanted}' is not connected; using '{fallback.name}' instead."
    return DeviceChoice(fallback, notice)


# ---------------------------------------------------------------- sample rates and channels


def _check(sd: Any, kind: str, index: int, rate: int, channels: int) -> bool:
    check = sd.check_input_settings if kind == INPUT else sd.check_output_settings
    try:
        check(device=index, samplerate=rate, channels=channels, dtype="float32")
        return True
    except Exception as exc:  # noqa: BLE001 - PortAudioError ("Invalid sample rate"), ValueError
        log.debug("%s device %d: %d Hz x %d ch rejected: %s", kind, index, rate, channels, exc)
        return False


def candidate_rates(device: DeviceInfo, preferred: int | None = None) -> list[int]:
    rates: list[int] = []
    for r in (preferred, int(device.default_samplerate or 0), *COMMON_RATES):
        if r and r not in rates:
            rates.append(int(r))
    return rates


def candidate_channels(device: DeviceInfo, kind: str, preferred: int | None = None) -> list[int]:
    most = max(1, device.channels(kind))
    chans: list[int] = []
    for c in (preferred, 1, 2, most):
        if c and c <= most and c not in chans:
            chans.append(c)
    return chans


def stream_formats(
    device: DeviceInfo,
    kind: str,
    *,
    rate: int | None = None,
    channels: int | None = None,
    sd: Any | None = None,
) -> list[tuple[int, int]]:
    """(rate, channels) pairs the device accepts, best first: the wanted/default rate, then common ones."""
    sd = sd if sd is not None else load_sounddevice()
    ok: list[tuple[int, int]] = []
    for r in candidate_rates(device, rate):
        for c in candidate_channels(device, kind, channels):
            if _check(sd, kind, device.index, r, c):
                ok.append((r, c))
                break
    if not ok:
        raise AudioUnavailable(
            f"The {_KIND_WORD[kind]} '{device.name}' accepts none of the usual sample rates "
            f"({', '.join(str(r) for r in candidate_rates(device, rate)[:6])} Hz); choose another device."
        )
    return ok


def open_first_format(
    open_fn: Callable[[int, int], None], formats: list[tuple[int, int]], label: str
) -> Exception | None:
    """Try ``open_fn(rate, channels)`` for each format until one opens; the last error, or None.

    Only rate and format errors move on to the next format: any other error is final.
    """
    last: Exception | None = None
    for rate, channels in formats:
        try:
            open_fn(rate, channels)
            return None
        except Exception as exc:  # noqa: BLE001 - PortAudioError of any kind
            last = exc
            log.info("%s at %d Hz x %d: %s", label, rate, channels, exc)
            if not is_rate_error(exc):
                break
    return last or RuntimeError("no format")


def is_rate_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "sample rate" in text or "samplerate" in text or "-9997" in text


# ---------------------------------------------------------------- remembered choice


def _memory_path() -> Any:
    from app import paths

    return paths.config_dir() / "devices.json"


def remembered() -> dict[str, str]:
    """The user's last chosen devices by name: ``{"input": ..., "output": ...}``."""
    try:
        data = json.loads(_memory_path().read_text(encoding="utf-8"))
        return {k: str(v) for k, v in data.items() if k in (INPUT, OUTPUT) and v}
    except (OSError, ValueError):
        return {}


def remember(kind: str, name: str) -> None:
    data = remembered()
    if data.get(kind) == name:
        return
    data[kind] = name
    try:
        path = _memory_path()
        path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    except OSError as exc:
        log.warning("could not remember the %s device: %s", kind, exc)


def wanted_device(kind: str, explicit: str | None, configured: str | None = None) -> str | None:
    """What to look for: the command-line name, else the config setting, else the remembered name."""
    return explicit or configured or remembered().get(kind)


# ---------------------------------------------------------------- CLI


def format_table(devices: list[DeviceInfo]) -> str:
    lines = []
    for kind, title in ((INPUT, "Microphones"), (OUTPUT, "Speakers")):
        lines.append(f"{title}:")
        rows = [d for d in devices if d.channels(kind) > 0]
        rows.sort(key=lambda d: not d.is_default(kind))
        if not rows:
            lines.append("  (none)")
        for d in rows:
            mark = "*" if d.is_default(kind) else " "
            lines.append(
                f"  {mark} {d.index:>3}  {d.name:<40} {d.hostapi:<8} {d.channels(kind):>3} ch  "
                f"{int(d.default_samplerate):>6} Hz"
            )
    return "\n".join(lines)


def devices_report() -> tuple[int, str]:
    """``hearken devices``: (exit code, text); code 4 and one sentence without audio."""
    try:
        sd = load_sounddevice()
    except AudioUnavailable as exc:
        return 4, str(exc)
    devices = list_devices(sd)
    if not devices:
        return 4, NO_DEVICES
    lines = [
        format_table(devices),
        "* = system default.  Choose with --input-device/--output-device NAME (part of the name is enough).",
    ]
    mem = remembered()
    if mem:
        lines.append("remembered: " + ", ".join(f"{k} '{v}'" for k, v in sorted(mem.items())))
    return 0, "\n".join(lines)
