#!/usr/bin/env bash
# A private PulseAudio with a virtual microphone and speaker: audio tests without a sound card.
# Adapted from ../shared/recipes/virtual_audio_pulse.sh.  Debian: pulseaudio pulseaudio-utils
# libasound2-plugins libportaudio2 (scripts/setup.sh installs them).
#
#   scripts/virtual_audio.sh start [RATE]     start (default 48000 Hz); prints the env to export
#   scripts/virtual_audio.sh stop             stop it
#   scripts/virtual_audio.sh env              the variables a client needs (eval "$(... env)")
#   scripts/virtual_audio.sh loopback DB MS   route the speaker back into the mic (open speakers):
#                                             attenuated by DB (e.g. -6) and delayed by about MS ms
#   scripts/virtual_audio.sh unloop           remove that route
#
# Devices (sounddevice sees them as "pulse" / "default", both the server's defaults):
#   sink   va_speaker   the app plays here (default sink); record it from va_speaker.monitor
#   sink   va_micfeed   a test feeds the mic here: paplay -d va_micfeed question.wav
#   source va_mic       remap of va_micfeed.monitor (default source): what the app records
# State lives in $VA_AUDIO_DIR (default /tmp/hearken-va); nothing is written to $HOME.
# Works as root (CI) or as a user.  Reliable client settings: latency='high', open the input
# stream before feeding, pad test audio with silence at both ends.
set -uo pipefail

VA_AUDIO_DIR=${VA_AUDIO_DIR:-/tmp/hearken-va}
export XDG_RUNTIME_DIR=$VA_AUDIO_DIR/run
export PULSE_RUNTIME_PATH=$VA_AUDIO_DIR/run/pulse
export PULSE_STATE_PATH=$VA_AUDIO_DIR/state
export PULSE_SERVER=unix:$PULSE_RUNTIME_PATH/native
export PULSE_COOKIE=$VA_AUDIO_DIR/cookie

print_env() {
  for v in XDG_RUNTIME_DIR PULSE_RUNTIME_PATH PULSE_STATE_PATH PULSE_SERVER PULSE_COOKIE; do
    printf 'export %s=%q\n' "$v" "${!v}"
  done
}

va_start() {
  local rate=${1:-${VA_AUDIO_RATE:-48000}}
  command -v pulseaudio >/dev/null || { echo "pulseaudio is not installed (apt-get install pulseaudio pulseaudio-utils libasound2-plugins)" >&2; return 3; }
  va_stop
  mkdir -p "$XDG_RUNTIME_DIR" "$PULSE_RUNTIME_PATH" "$PULSE_STATE_PATH" && chmod 700 "$XDG_RUNTIME_DIR"
  # -n: no default.pa (no udev/alsa/dbus/bluetooth modules); only what the tests need.
  # --system=no and exit-idle -1: as root too, no autospawn, never exits by itself.
  pulseaudio -n --daemonize=no --exit-idle-time=-1 --disallow-exit=yes --use-pid-file=no \
    --disable-shm=yes --system=no --log-target=file:"$VA_AUDIO_DIR/pulse.log" --log-level=notice \
    -L "module-native-protocol-unix auth-anonymous=1 socket=$PULSE_RUNTIME_PATH/native" \
    -L "module-null-sink sink_name=va_speaker rate=$rate channels=1 sink_properties=device.description=VA_Speaker" \
    -L "module-null-sink sink_name=va_micfeed rate=$rate channels=1 sink_properties=device.description=VA_MicFeed" \
    -L "module-remap-source source_name=va_mic master=va_micfeed.monitor source_properties=device.description=VA_Mic" \
    >"$VA_AUDIO_DIR/pulse.stdout" 2>&1 &
  echo $! >"$VA_AUDIO_DIR/pulse.pid"
  for _ in $(seq 100); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
  if ! pactl info >/dev/null 2>&1; then
    echo "pulseaudio failed to start:" >&2
    cat "$VA_AUDIO_DIR/pulse.stdout" "$VA_AUDIO_DIR/pulse.log" >&2 2>/dev/null
    return 1
  fi
  pactl set-default-sink va_speaker
  pactl set-default-source va_mic
  echo "# PulseAudio pid $(cat "$VA_AUDIO_DIR/pulse.pid") at $rate Hz on $PULSE_SERVER" >&2
  print_env
}

va_stop() {
  local pid
  pid=$(cat "$VA_AUDIO_DIR/pulse.pid" 2>/dev/null) || return 0
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  fi
  rm -f "$VA_AUDIO_DIR/pulse.pid" "$PULSE_RUNTIME_PATH/native"
}

va_loopback() {
  local db=${1:--6} ms=${2:-40} idx input
  va_unloop
  idx=$(pactl load-module module-loopback source=va_speaker.monitor sink=va_micfeed \
        latency_msec="$ms" source_dont_move=true sink_dont_move=true) || return 1
  echo "$idx" >"$VA_AUDIO_DIR/loopback.idx"
  # The loopback's playback stream carries the attenuation.
  for _ in $(seq 50); do
    input=$(pactl list sink-inputs | awk -v m="$idx" \
      '/^Sink Input #/ {sub("#", "", $3); cur=$3} /Owner Module:/ && $3 == m {print cur; exit}')
    [ -n "$input" ] && break
    sleep 0.1
  done
  [ -n "$input" ] && pactl set-sink-input-volume "$input" "${db}dB"
  echo "# loopback module $idx: speaker -> mic at ${db} dB, ~${ms} ms" >&2
}

va_unloop() {
  local idx
  idx=$(cat "$VA_AUDIO_DIR/loopback.idx" 2>/dev/null) || return 0
  pactl unload-module "$idx" 2>/dev/null
  rm -f "$VA_AUDIO_DIR/loopback.idx"
}

case "${1:-}" in
  start) shift; va_start "$@" ;;
  stop) va_stop ;;
  env) print_env ;;
  loopback) shift; va_loopback "$@" ;;
  unloop) va_unloop ;;
  *) echo "usage: $0 start [RATE] | stop | env | loopback DB MS | unloop" >&2; exit 2 ;;
esac
