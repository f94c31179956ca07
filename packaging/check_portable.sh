#!/usr/bin/env bash
# Portability of the bundle's llama.cpp, shown rather than assumed: the frozen app's LLM
# preflight (load the bundled model, decode a few tokens) runs under qemu-user emulating a CPU
# without AVX-512 (Haswell: AVX2, FMA, F16C, BMI2).  A control proves the method can fail: a
# program built for an AVX-512 machine (as a -march=native build on one is) dies there with
# SIGILL, and an AVX2 program runs under it but dies under an older CPU model (Nehalem).
#   bash packaging/check_portable.sh [DIST_DIR]      (needs Debian's qemu-user and gcc)
set -euo pipefail
cd "$(dirname "$0")/.."
dist=${1:-dist/hearken}
cpu=${HEARKEN_QEMU_CPU:-Haswell}
command -v qemu-x86_64 >/dev/null || { echo "check_portable: install qemu-user" >&2; exit 2; }
[ "$(uname -m)" = x86_64 ] || { echo "check_portable: x86-64 only" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== control: qemu enforces the CPU model it emulates (the host's own features do not leak in)"
cat > "$work/simd.c" <<'C'
#include <immintrin.h>
#include <stdio.h>
int main(void) {
    volatile float in[16] = {1};
    float out[16];
#ifdef WANT_AVX512
    __m512 v = _mm512_loadu_ps((const float *)in);
    _mm512_storeu_ps(out, _mm512_add_ps(v, v));
#else
    __m256 v = _mm256_loadu_ps((const float *)in);
    _mm256_storeu_ps(out, _mm256_fmadd_ps(v, v, v));
#endif
    printf("%.0f\n", out[0]);
    return 0;
}
C
gcc -O1 -mavx2 -mfma -o "$work/avx2" "$work/simd.c"
gcc -O1 -mavx512f -DWANT_AVX512 -o "$work/avx512" "$work/simd.c"
run_as() { set +e; qemu-x86_64 -cpu "$1" "$2" >/dev/null 2>&1; echo $?; set -e; }
a=$(run_as "$cpu" "$work/avx2"); b=$(run_as Nehalem "$work/avx2"); c=$(run_as "$cpu" "$work/avx512")
echo "   AVX2 program: -cpu $cpu exit $a (0 expected), -cpu Nehalem exit $b (132 = SIGILL expected)"
echo "   AVX-512 program (what a -march=native build on an AVX-512 machine holds): -cpu $cpu exit $c (132 expected)"
if [ "$a" != 0 ] || [ "$b" != 132 ] || [ "$c" != 132 ]; then
  echo "check_portable: the control did not behave, so the check would prove nothing" >&2
  exit 1
fi

# PyInstaller's bootloader re-executes itself once (to apply LD_LIBRARY_PATH); qemu-user would
# run that second image natively.  So qemu starts the second stage directly, with the variables
# the bootloader sets for it (-E: for the emulated program only, not for qemu itself).
dist_abs=$(cd "$dist" && pwd)
stage2=(-E "_PYI_ARCHIVE_FILE=$dist_abs/hearken" -E _PYI_PARENT_PROCESS_LEVEL=-1
        -E _PYI_LINUX_PROCESS_NAME=hearken -E "LD_LIBRARY_PATH=$dist_abs/_internal")
model=$(ls "$dist_abs"/_internal/models/*/*.gguf | head -1)
spec=$(printf '{"llm": {"path": "%s", "threads": 1, "batch_threads": 1}}' "$model")
emulate() {  # CPU OUT -> exit code of the bundle's LLM preflight under that CPU model
  set +e
  HEARKEN_HOME="$work/home" timeout 1500 qemu-x86_64 -cpu "$1" "${stage2[@]}" "$dist_abs/hearken" \
    --native-check "$spec" > "$2" 2> "$2.err"
  echo $?
  set -e
}

echo "== control on the bundle: under -cpu Nehalem (no AVX2, below the x86-64-v3 baseline) it must die"
rc=$(emulate Nehalem "$work/old")
echo "   exit $rc (132 = SIGILL expected: emulation is real and the baseline is what docs/runtime.md says)"
[ "$rc" = 132 ] || { echo "check_portable: the bundle did not fail below its baseline: is qemu emulating it?" >&2; exit 1; }

echo "== the bundle's llama.cpp under qemu -cpu $cpu: load the bundled model, decode 4 tokens (emulated: ~5 min)"
start=$(date +%s)
rc=$(emulate "$cpu" "$work/out")
secs=$(( $(date +%s) - start ))
if [ "$rc" = 0 ] && grep -q '"event": "ok", "key": "llm"' "$work/out"; then
  detail=$(grep '"key": "llm"' "$work/out" | tail -1)
  echo "PASS: decoded under -cpu $cpu (no AVX-512, no AMX) in ${secs} s: ${detail:0:160}"
  exit 0
fi
echo "FAIL: exit $rc after ${secs} s" >&2
tail -20 "$work/out" >&2
grep -v "TCG doesn't support" "$work/out.err" | tail -20 >&2
exit 1
