# Python 3.13 for the Blender 5.1+ cells (bpy 5.2 is cp313-only), built from Debian's source
# package: sourced by scripts/setup, never run. Debian 12 has no python3.13 binary package;
# Debian 13 (trixie) has the `python3.13` SOURCE package, which apt fetches and verifies
# against trixie's signed Sources index. We build the upstream tarball that package carries
# (python3.13_<ver>.orig.tar.xz) as a plain CPython under a prefix in the cache; Debian's own
# patches (debian/patches) target a /usr install with dist-packages and multiarch paths,
# which a private prefix does not want.
#
#   deb-src for trixie   /etc/apt/sources.list.d/farmhand-trixie-src.sources (source only),
#                        /etc/apt/preferences.d/farmhand-trixie (Pin-Priority -1: no binary
#                        package is ever installed from trixie)
#   source cache         $FARMHAND_CACHE/src/python3.13/ (the .dsc, .orig.tar.xz, .debian.tar.xz)
#   install              $FARMHAND_CACHE/python3.13/<upstream version>/bin/python3.13
#   stamp                .../farmhand-build.json (version, configure flags, build seconds)
#
# Cost on this 2-core machine: see README ("Python 3.13"). No PGO/LTO (they triple the time).

FARMHAND_CACHE=${FARMHAND_CACHE:-/var/cache/farmhand}
PY313_CONFIGURE_FLAGS=(--enable-shared --with-ensurepip=install --without-doc-strings
                       --disable-test-modules)

# apt_trixie_sources: make trixie's source packages (only) known to apt. The mirror is the one
# this machine's bookworm entry already uses, so no host name is written here.
apt_trixie_sources() {
  local list=/etc/apt/sources.list.d/farmhand-trixie-src.sources
  local pin=/etc/apt/preferences.d/farmhand-trixie
  local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  local uri
  uri=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$uri" ] || { log "python3.13: no bookworm mirror found in apt's sources"; return 1; }
  local want_list want_pin
  want_list=$(printf 'Types: deb-src\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri")
  want_pin=$(printf 'Package: *\nPin: release n=trixie\nPin-Priority: -1\n')
  local changed=0
  if [ "$(cat "$pin" 2>/dev/null)" != "$want_pin" ]; then
    printf '%s\n' "$want_pin" | $sudo tee "$pin" >/dev/null; changed=1
  fi
  if [ "$(cat "$list" 2>/dev/null)" != "$want_list" ]; then
    printf '%s\n' "$want_list" | $sudo tee "$list" >/dev/null; changed=1
  fi
  if [ $changed = 1 ] || ! ls /var/lib/apt/lists/*_dists_trixie_main_source_Sources* >/dev/null 2>&1; then
    log "python3.13: apt-get update (trixie deb-src added)"
    $sudo apt-get update -qq
  fi
}

# py313_prefix: the install prefix of the cached Python 3.13 (empty if none is built).
py313_prefix() {
  local d
  for d in $(ls -d "$FARMHAND_CACHE"/python3.13/3.13.* 2>/dev/null | sort -V -r); do
    [ -x "$d/bin/python3.13" ] && [ -f "$d/farmhand-build.json" ] && { echo "$d"; return; }
  done
}

# step_python313: fetch and build Python 3.13 into the cache unless a complete build is there.
# One build at a time per machine (flock): a second checkout's setup waits, then finds it.
step_python313() {
  [ "${FARMHAND_PY313:-1}" = 0 ] && { log "python3.13: skipped (FARMHAND_PY313=0)"; return; }
  local prefix; prefix=$(py313_prefix)
  if [ -n "$prefix" ]; then log "python3.13: $prefix present"; return; fi
  mkdir -p "$FARMHAND_CACHE"
  ( flock 9; build_python313 ) 9>"$FARMHAND_CACHE/.python3.13.lock"
}

build_python313() {
  local prefix; prefix=$(py313_prefix)
  if [ -n "$prefix" ]; then log "python3.13: $prefix present (built by another setup)"; return; fi
  apt_trixie_sources
  local src=$FARMHAND_CACHE/src/python3.13
  mkdir -p "$src"
  if ! ls "$src"/python3.13_*.orig.tar.xz >/dev/null 2>&1; then
    log "python3.13: apt-get source --download-only python3.13 (trixie)"
    (cd "$src" && apt-get source -qq --download-only -t trixie python3.13 >/dev/null)
  fi
  local orig; orig=$(ls "$src"/python3.13_*.orig.tar.xz | sort -V | tail -n1)
  local ver; ver=$(basename "$orig" | sed -E 's/^python3\.13_([0-9.]+)\.orig\.tar\.xz$/\1/')
  [[ $ver =~ ^3\.13\.[0-9]+$ ]] || { log "python3.13: cannot read the version from $orig"; return 1; }
  prefix=$FARMHAND_CACHE/python3.13/$ver
  local work; work=$(mktemp -d "${TMPDIR:-/tmp}/farmhand-py313.XXXXXX")
  log "python3.13: building $ver from $(basename "$orig") into $prefix (a few minutes, once)"
  local t0=$SECONDS
  tar -xJf "$orig" -C "$work"
  local top; top=$(ls -d "$work"/Python-3.13.* | head -n1)
  rm -rf "$prefix"
  (
    cd "$top"
    # rpath so the shared libpython is found without LD_LIBRARY_PATH.
    nice -n 10 ./configure -q --prefix="$prefix" "${PY313_CONFIGURE_FLAGS[@]}" \
      LDFLAGS="-Wl,-rpath,$prefix/lib" >"$work/configure.log" 2>&1 ||
      { tail -30 "$work/configure.log"; exit 1; }
    nice -n 10 make -s -j "$(nproc)" >"$work/make.log" 2>&1 || { tail -40 "$work/make.log"; exit 1; }
    nice -n 10 make -s install >"$work/install.log" 2>&1 || { tail -40 "$work/install.log"; exit 1; }
  )
  # The modules Farmhand and pip need; a missing one means a missing -dev package.
  "$prefix/bin/python3.13" -c 'import ssl, zlib, bz2, lzma, sqlite3, ctypes, hashlib, uuid, json' ||
    { log "python3.13: built, but a standard module is missing (see above)"; return 1; }
  local secs=$((SECONDS - t0))
  printf '{"version": "%s", "source": "%s", "configure": "%s", "build_seconds": %d}\n' \
    "$ver" "$(basename "$orig")" "${PY313_CONFIGURE_FLAGS[*]}" "$secs" > "$prefix/farmhand-build.json"
  rm -rf "$work"
  log "python3.13: $ver built in ${secs} s ($prefix)"
}
