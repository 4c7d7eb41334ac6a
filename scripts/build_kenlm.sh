#!/usr/bin/env bash
# Build KenLM's `lmplz` and `build_binary` into PREFIX/bin (default: tools/bin).
#
# Usage: scripts/build_kenlm.sh [PREFIX]
#
#   PREFIX   install prefix, relative to the current directory (default: tools)
#
# Environment:
#   PYTHON         interpreter whose pip fetches the kenlm sdist (default: .venv/bin/python, else python3)
#   KENLM_TARBALL  use this kenlm-*.tar.gz instead of downloading one
#   JOBS           parallel compile jobs (default: nproc)
#
# The sources come from the kenlm sdist on PyPI, which carries the full C++ tree
# and CMakeLists. Only the two executables the LM stage needs are compiled
# (about 35 s on 2 cores). Re-running is a no-op once both binaries exist and run.
set -euo pipefail

prefix=${1:-tools}
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
bin_dir=$prefix/bin
src_dir=$prefix/src
build_dir=$prefix/build/kenlm
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}

if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi

log() {
  echo "$(date '+%Y-%m-%d %H:%M:%S') (build_kenlm.sh) $*"
}

# A binary counts as built when it exists and the dynamic loader can start it:
# exit status 126/127 means "cannot execute" / "missing shared library".
runs() {
  [ -x "$1" ] || return 1
  local rc=0
  "$1" --help </dev/null >/dev/null 2>&1 || rc=$?
  [ "$rc" -ne 126 ] && [ "$rc" -ne 127 ] && [ "$rc" -lt 128 ]
}

if runs "$bin_dir/lmplz" && runs "$bin_dir/build_binary"; then
  log "KenLM tools already built in $bin_dir; nothing to do"
  exit 0
fi

start=$(date +%s)

log "Stage 0: Debian build dependencies"
deps=(cmake g++ make libboost-program-options-dev libboost-system-dev libboost-thread-dev
      libboost-test-dev zlib1g-dev libbz2-dev liblzma-dev)
missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for pkg in "${deps[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Missing build dependencies. Install them with:" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi

log "Stage 1: KenLM sources"
mkdir -p "$src_dir"
if [ -n "${KENLM_TARBALL:-}" ]; then
  tarball=$KENLM_TARBALL
else
  tarballs=("$src_dir"/kenlm-*.tar.gz)
  tarball=${tarballs[0]}
  if [ ! -f "$tarball" ]; then
    # --no-build-isolation: otherwise pip compiles the sdist's build requirements
    # (cmake from source, ~10 min) just to read its metadata.
    "$PYTHON" -m pip download --quiet --no-binary :all: --no-deps --no-build-isolation \
      kenlm -d "$src_dir"
    tarballs=("$src_dir"/kenlm-*.tar.gz)
    tarball=${tarballs[0]}
  fi
fi
kenlm_src=$src_dir/$(basename "$tarball" .tar.gz)
if [ ! -f "$kenlm_src/CMakeLists.txt" ]; then
  tar -xzf "$tarball" -C "$src_dir"
fi

log "Stage 2: compile lmplz and build_binary ($jobs jobs)"
mkdir -p "$build_dir"
cmake -S "$kenlm_src" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DCOMPILE_TESTS=OFF \
  -DENABLE_PYTHON=OFF -Wno-dev >"$build_dir/cmake.log" 2>&1 \
  || { cat "$build_dir/cmake.log" >&2; exit 1; }
cmake --build "$build_dir" --target lmplz build_binary -j "$jobs" >"$build_dir/build.log" 2>&1 \
  || { tail -n 50 "$build_dir/build.log" >&2; exit 1; }

mkdir -p "$bin_dir"
install -m 755 "$build_dir/bin/lmplz" "$build_dir/bin/build_binary" "$bin_dir/"
if ! { runs "$bin_dir/lmplz" && runs "$bin_dir/build_binary"; }; then
  echo "built binaries do not run: $bin_dir" >&2
  exit 1
fi
log "done in $(( $(date +%s) - start )) s: $bin_dir/lmplz $bin_dir/build_binary"
