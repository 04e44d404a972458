# Shared helpers for scripts/*: sourced, never run.

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# configure_and_build NAME [cmake args...]: (re)configure build/NAME with Ninja and build it,
# for the Python $FARMHAND_BUILD_PYTHON (default .venv/bin/python; it needs pybind11).
configure_and_build() {
  local name=$1; shift
  local dir="build/$name"
  # ccache (when installed) makes rebuilds in fresh clones and worktrees cheap; paths are
  # rewritten relative to the checkout so two checkouts share one cache.
  local launcher=()
  if command -v ccache >/dev/null 2>&1; then
    export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
    launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  local py=${FARMHAND_BUILD_PYTHON:-$PWD/.venv/bin/python}
  cmake -S . -B "$dir" -G Ninja "${launcher[@]}" \
    -DPython_EXECUTABLE="$py" \
    -Dpybind11_DIR="$("$py" -m pybind11 --cmakedir)" "$@" >/dev/null
  cmake --build "$dir" -j "$(nproc)"
}
