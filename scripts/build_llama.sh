#!/usr/bin/env bash
# Builds the llama-cpp-python wheel (pinned version, from its source release) with explicit
# CPU flags (never -march=native), once per version and flag set, into a cache outside the repo; prints
# the wheel's path.  Everything else goes to stderr.
#
#   HEARKEN_LLAMA_CPU=avx512      (default on x86-64 CPUs with every AVX-512 extension it uses:
#                                 F, CD, VL, DQ, BW, VBMI, VNNI, BF16): AVX2 + AVX-512, never AMX;
#                                 reads the prompt ~1.6x as fast on one thread (docs/runtime.md).
#                                 For this machine only (SIGILL elsewhere): never bundled
#   HEARKEN_LLAMA_CPU=x86-64-v3  (default on other x86-64 CPUs with AVX2/FMA/F16C/BMI2): the
#                                 baseline the installers ship (packaging/build.sh asks for it)
#   HEARKEN_LLAMA_CPU=x86-64      (default on older x86-64 CPUs): SSE only, slow but runs anywhere
#   HEARKEN_LLAMA_CPU=native      -march=native: at your own risk (AMX crashes, not portable)
#
# pip's own wheel cache is not used: it keys wheels by the source archive, not by CMAKE_ARGS,
# so a crashing native build would be reused after the flags changed.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
version=$(sed -n 's/^llama-cpp-python==//p' constraints.txt)
[ -n "$version" ] || { echo "build_llama: llama-cpp-python is not pinned in constraints.txt" >&2; exit 1; }

cpu=${HEARKEN_LLAMA_CPU:-}
if [ -z "$cpu" ]; then
  case "$(uname -m)" in
    x86_64|amd64)
      flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
      cpu=avx512
      for f in avx512f avx512cd avx512vl avx512dq avx512bw avx512vbmi avx512_vnni avx512_bf16; do
        grep -qw "$f" <<<"$flags" || cpu=x86-64-v3
      done
      for f in avx2 fma f16c bmi2; do
        grep -qw "$f" <<<"$flags" || cpu=x86-64
      done ;;
    *) cpu=generic ;;
  esac
fi

common="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
case "$cpu" in
  x86-64-v3) cmake_args="$common -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF" ;;
  x86-64)    cmake_args="$common -DGGML_AVX=OFF -DGGML_AVX2=OFF -DGGML_FMA=OFF -DGGML_F16C=OFF -DGGML_BMI2=OFF -DGGML_AVX512=OFF" ;;
  avx512)    cmake_args="$common -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON -DGGML_AVX512_VBMI=ON" ;;
  native)    cmake_args="-DLLAVA_BUILD=OFF -DGGML_NATIVE=ON" ;;
  generic)   cmake_args="$common" ;;
  *) echo "build_llama: unknown HEARKEN_LLAMA_CPU=$cpu (x86-64-v3, x86-64, avx512, native)" >&2; exit 2 ;;
esac

key=$( (echo "$version $cpu $cmake_args $(uname -m)"; cat build-constraints.txt) | sha256sum | cut -c1-12)
cache=${HEARKEN_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hearken/wheels}
dir="$cache/llama-cpp-python-$version-$cpu-$key"
wheel=$(ls "$dir"/llama_cpp_python-*.whl 2>/dev/null | head -1 || true)
if [ -z "$wheel" ]; then
  echo "== building llama.cpp $version for $cpu (once; several minutes on two cores)" >&2
  [ -x "$VENV/bin/pip" ] || { echo "build_llama: no $VENV yet" >&2; exit 1; }
  tmp="$dir.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  start=$(date +%s)
  CMAKE_ARGS="$cmake_args" CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} \
    "$VENV/bin/pip" wheel -q --no-cache-dir --no-deps --no-binary llama-cpp-python \
    -c constraints.txt --build-constraint build-constraints.txt -w "$tmp" "llama-cpp-python==$version" >&2
  echo "$cpu: $cmake_args" > "$tmp/BUILD-FLAGS"
  echo "== built in $(( $(date +%s) - start )) s" >&2
  rm -rf "$dir"
  mv "$tmp" "$dir"
  wheel=$(ls "$dir"/llama_cpp_python-*.whl | head -1)
fi
echo "$wheel"
