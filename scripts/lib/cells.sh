# The Blender matrix cells that are Python environments (the bpy module from the package
# index), and the cp313 build of farmhand_core: sourced by scripts/setup, never run.
#
#   cell    Python                      pins                      venv
#   bpy42   /usr/bin/python3.11         requirements/bpy42.txt    $FARMHAND_CACHE/venvs/bpy42
#   bpy45   /usr/bin/python3.11         requirements/bpy45.txt    $FARMHAND_CACHE/venvs/bpy45
#   bpy50   .venv (the dev venv)        requirements-dev.txt      .venv
#   bpy52   Python 3.13 (python313.sh)  requirements/bpy52.txt    $FARMHAND_CACHE/venvs/bpy52
#   blender34 is Debian's `blender` package (step_apt).
#
# A venv is rebuilt only when its pins or its interpreter change (stamp: the sha256 of both).
# scripts/blender_cells.py is the Python side of this table (tests, demo).
# FARMHAND_CELLS="bpy42 bpy52" limits which venvs are made (default: all).

CELL_VENVS=(bpy42 bpy45 bpy52)

# cell_python NAME: the interpreter the cell's venv is made from.
cell_python() {
  case $1 in
    bpy52) local p; p=$(py313_prefix); [ -n "$p" ] && echo "$p/bin/python3.13" ;;
    *) echo /usr/bin/python3.11 ;;
  esac
}

# cell_venv NAME [extra requirement files...]: make $FARMHAND_CACHE/venvs/NAME from
# requirements/NAME.txt unless its stamp says it is current. One setup at a time per venv.
cell_venv() {
  mkdir -p "$FARMHAND_CACHE/venvs"
  ( flock 9; make_cell_venv "$@" ) 9>"$FARMHAND_CACHE/venvs/.$1.lock"
}

make_cell_venv() {
  local name=$1; shift
  local req=requirements/$name.txt dir=$FARMHAND_CACHE/venvs/$name
  local py; py=$(cell_python "$name")
  [ -n "$py" ] && [ -x "$py" ] || { log "cells: $name: no interpreter (Python 3.13 not built?)"; return 1; }
  local want; want=$(cat "$req" "$@" <(echo "$py") | sha256sum | cut -d' ' -f1)
  if [ -f "$dir/.farmhand.sha256" ] && [ "$(cat "$dir/.farmhand.sha256")" = "$want" ] &&
     [ -x "$dir/bin/python" ]; then
    log "cells: $name venv up to date ($dir)"; return
  fi
  log "cells: $name: installing $req into $dir (bpy is ~350 MB: a minute or two, once)"
  local t0=$SECONDS
  # The stamp is written last: an interrupted install is redone from scratch next time.
  rm -rf "$dir"
  "$py" -m venv "$dir"
  local reqs=(-r "$req"); local f; for f in "$@"; do reqs+=(-r "$f"); done
  "$dir/bin/python" -m pip install -q --disable-pip-version-check "${reqs[@]}"
  echo "$want" > "$dir/.farmhand.sha256"
  log "cells: $name ready in $((SECONDS - t0)) s ($("$dir/bin/python" -c 'import bpy; print("bpy", bpy.app.version_string)' 2>/dev/null | tail -n1))"
}

step_cells() {
  [ "${FARMHAND_PY313:-1}" = 0 ] && [ -z "${FARMHAND_CELLS:-}" ] && FARMHAND_CELLS="bpy42 bpy45"
  local wanted=(${FARMHAND_CELLS:-${CELL_VENVS[@]}})
  mkdir -p "$FARMHAND_CACHE/venvs"
  local c
  for c in "${wanted[@]}"; do
    case $c in
      bpy52) cell_venv bpy52 requirements/build-cp313.txt ;;
      *) cell_venv "$c" ;;
    esac
  done
}

# step_build_cp313: build/release-cp313, the core for Python 3.13 (no C++ tests: build/release
# runs them), staged in build/release-cp313/python and installed beside the cp311 module in
# addon/farmhand/vendor (Python picks _native.cpython-313-*.so by its own ABI tag).
step_build_cp313() {
  local py=$FARMHAND_CACHE/venvs/bpy52/bin/python
  [ -x "$py" ] || { log "build: cp313 skipped (no bpy52 venv)"; return; }
  log "build: native core for cp313 (build/release-cp313)"
  FARMHAND_BUILD_PYTHON=$py configure_and_build release-cp313 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DFARMHAND_TESTS=OFF
  cmake --install build/release-cp313 --component python --prefix addon/farmhand/vendor >/dev/null
}
