# Public scenes for the tests (tests/addon/corpus/README.md): sourced by scripts/setup.
#
# step_corpus: the .blend files of Debian's openshot-qt package (its Blender title
# templates, made by OpenShot's artists) into $FARMHAND_CACHE/corpus/openshot-qt/, taken from
# the pinned package with `apt-get download` and `dpkg-deb -x` (the package is not
# installed: only its scenes are used). Each file's sha256 is checked by the tests, which
# skip, saying so, where a file is absent. Idempotent: nothing is fetched when the stamp
# names the pinned version.

OPENSHOT_DEB_VERSION=2.6.1+dfsg1-3

step_corpus() {
  local dest="$FARMHAND_CACHE/corpus/openshot-qt"
  local stamp="$dest/.version"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$OPENSHOT_DEB_VERSION" ]; then
    log "corpus: openshot-qt $OPENSHOT_DEB_VERSION scenes present"; return
  fi
  local tmp; tmp=$(mktemp -d)
  # apt-get download writes into the current directory; _apt cannot write a mktemp dir
  chmod 755 "$tmp"
  if ! (cd "$tmp" && apt-get download -qq "openshot-qt=$OPENSHOT_DEB_VERSION" >/dev/null 2>&1); then
    local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq || true
    if ! (cd "$tmp" && apt-get download -qq "openshot-qt=$OPENSHOT_DEB_VERSION" >/dev/null 2>&1); then
      log "corpus: WARNING: could not download openshot-qt $OPENSHOT_DEB_VERSION;" \
          "the public-scene tests skip its scenes"
      rm -rf "$tmp"; return
    fi
  fi
  dpkg-deb -x "$tmp"/openshot-qt_*.deb "$tmp/x"
  rm -rf "$dest"; mkdir -p "$dest"
  cp "$tmp"/x/usr/lib/python3/dist-packages/openshot_qt/blender/blend/*.blend "$dest"/
  echo "$OPENSHOT_DEB_VERSION" > "$stamp"
  rm -rf "$tmp"
  log "corpus: openshot-qt $OPENSHOT_DEB_VERSION scenes in $dest ($(ls "$dest" | wc -l) files)"
}
