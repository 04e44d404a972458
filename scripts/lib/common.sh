# Shared helpers for scripts/*: sourced, never run.

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# configure_and_build NAME [cmake args...]: (re)configure build/NAME with Ninja and build it.
configure_and_build() {
  local name=$1; shift
  local dir="build/$name"
  cmake -S . -B "$dir" -G Ninja \
    -DPython_EXECUTABLE="$PWD/.venv/bin/python" \
    -Dpybind11_DIR="$(.venv/bin/python -m pybind11 --cmakedir)" "$@" >/dev/null
  cmake --build "$dir" -j "$(nproc)"
}
