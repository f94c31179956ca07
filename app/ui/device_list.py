"""Sound devices for the pickers (no Qt; run off the GUI thread: PortAudio can be slow to start)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceList:
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    default_input: str | None = None
    default_output: str | None = None
    problem: str = ""  # one sentence when devices cannot be listed or there are none


def list_devices() -> DeviceList:
    """Input and output device names; never raises."""
    try:
        import sounddevice as sd
    except (ImportError, OSError) as exc:
        log.info("sounddevice unavailable: %s", exc)
        return DeviceList(problem="Sound devices cannot be listed: the PortAudio library is not installed.")
    try:
        devices = sd.query_devices()
    except Exception as exc:  # noqa: BLE001 - PortAudio errors are many and all mean "no list"
        log.info("query_devices failed: %s", exc)
        return DeviceList(problem=f"Sound devices cannot be listed ({exc}).")
    inputs: list[str] = []
    outputs: list[str] = []
    for d in devices:
        name = str(d.get("name", "?"))
        if int(d.get("max_input_channels", 0)) > 0 and name not in inputs:
            inputs.append(name)
        if int(d.get("max_output_channels", 0)) > 0 and name not in outputs:
            outputs.append(name)
    default_in = default_out = None
    try:
        din, dout = sd.default.device
        if din is not None and int(din) >= 0:
            default_in = str(sd.query_devices(int(din))["name"])
        if dout is not None and int(dout) >= 0:
            default_out = str(sd.query_devices(int(dout))["name"])
    except Exception:  # noqa: BLE001
        pass
    problem = ""
    if not inputs and not outputs:
        problem = "No sound devices were found: connect a microphone and speakers, or use --mic-file."
    elif not inputs:
        problem = "No microphone was found: connect one, or use --mic-file."
    elif not outputs:
        problem = "No speaker was found: answers play on a silent virtual speaker."
    return DeviceList(inputs, outputs, default_in, default_out, problem)
