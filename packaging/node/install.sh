#!/usr/bin/env bash
# Install the Farmhand legacy add-on zip where `blender -b` finds it, and optionally the
# headless worker service. One line for a render node:
#
#   packaging/node/install.sh farmhand-<ver>-legacy-linux-x64.zip              # this user
#   sudo packaging/node/install.sh --service farmhand-<ver>-legacy-linux-x64.zip  # service
#
# Without --service: Blender itself installs the zip (bpy.ops.preferences.addon_install) into
# this user's scripts directory for that Blender version ($BLENDER_USER_SCRIPTS/addons if set,
# else ~/.config/blender/<major.minor>/scripts/addons), then a second `blender -b` imports the
# installed copy and its farmhand_core to prove the headless command will work.
#
# With --service (as root): creates the system user `farmhand` (home /var/lib/farmhand),
# installs the add-on into /var/lib/farmhand/blender/scripts/addons as that user, writes
# /etc/farmhand/worker.env (kept if it exists; mode 0640, root:farmhand) and
# /etc/systemd/system/farmhand-worker.service, then `systemctl enable --now` unless
# --no-start. FARMHAND_DESTDIR=DIR stages every system file under DIR instead and skips
# useradd, chown and systemctl (packagers, tests).
#
# Options: --blender PATH (default: `blender` on PATH), --service, --no-start.
# Exit status: 0 installed and importable; 1 with a message saying what to fix.
set -euo pipefail

die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }
HERE=$(cd "$(dirname "$0")" && pwd)
BLENDER=${BLENDER:-blender}
SERVICE=0
START=1
ZIP=
while [ $# -gt 0 ]; do
  case $1 in
    --blender) BLENDER=${2:?--blender needs a path}; shift 2 ;;
    --service) SERVICE=1; shift ;;
    --no-start) START=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) [ -z "$ZIP" ] || die "only one zip, got '$ZIP' and '$1'"; ZIP=$1; shift ;;
  esac
done
[ -n "$ZIP" ] || die "usage: install.sh [--service] [--blender PATH] farmhand-<ver>-legacy-<platform>.zip"
[ -f "$ZIP" ] || die "$ZIP: no such file"
ZIP=$(cd "$(dirname "$ZIP")" && pwd)/$(basename "$ZIP")
case $(basename "$ZIP") in
  farmhand-*-legacy-*.zip) ;;
  farmhand-*.zip) die "$(basename "$ZIP") is the Blender >=4.2 extension; a node needs the legacy zip (farmhand-<ver>-legacy-<platform>.zip)" ;;
esac
BLENDER_BIN=$(command -v "$BLENDER") || die "Blender not found ('$BLENDER'): install it or pass --blender PATH"
"$BLENDER_BIN" --version 2>/dev/null | head -n1 | grep -q '^Blender [0-9]' ||
  die "$BLENDER_BIN does not answer --version like Blender"

# Run by Blender: refuse anything but an add-on zip with the farmhand package (exit 3), then
# Blender's own installer (Preferences > Add-ons > Install) into $BLENDER_USER_SCRIPTS/addons.
INSTALL_EXPR='import bpy, sys, zipfile
p = sys.argv[-1]
if not (zipfile.is_zipfile(p) and "farmhand/__init__.py" in zipfile.ZipFile(p).namelist()):
    sys.exit(3)
r = bpy.ops.preferences.addon_install(filepath=p, overwrite=True)
sys.exit(0 if r == {"FINISHED"} else 1)'

# install_addon SCRIPTS_DIR [RUN_AS]: addon_install into SCRIPTS_DIR/addons, then verify.
install_addon() {
  local scripts=$1 as=${2:-} run=()
  [ -n "$as" ] && run=(runuser -u "$as" --)
  local envs=(BLENDER_USER_SCRIPTS="$scripts" PYTHONNOUSERSITE=1)
  # As the service user: its own home and Blender config, as the unit will give it.
  [ -n "$as" ] && envs+=(HOME="$(dirname "$(dirname "$scripts")")"
                         BLENDER_USER_CONFIG="$(dirname "$scripts")/config")
  mkdir -p "$scripts/addons"
  [ -n "$as" ] && chown -R "$as:$as" "$(dirname "$scripts")"
  local rc=0
  "${run[@]}" env "${envs[@]}" "$BLENDER_BIN" -b --factory-startup -noaudio --python-expr "$INSTALL_EXPR" \
    -- "$ZIP" >/dev/null 2>&1 || rc=$?
  [ $rc = 3 ] && die "$ZIP is not a Farmhand add-on zip (no farmhand/__init__.py inside): use farmhand-<ver>-legacy-<platform>.zip from packaging/build"
  [ $rc = 0 ] || die "Blender could not install $ZIP into $scripts/addons (exit $rc)"
  local out
  out=$("${run[@]}" env "${envs[@]}" "$BLENDER_BIN" -b --factory-startup -noaudio --python-expr \
    "import sys, farmhand; from farmhand import core_loader; c = core_loader.load_core(); print('FARMHAND_OK', '.'.join(map(str, farmhand.bl_info['version'])), c.__version__, farmhand.__file__)" \
    2>&1) || true
  local ok
  ok=$(printf '%s\n' "$out" | grep '^FARMHAND_OK' || true)
  [ -n "$ok" ] || die "installed, but 'import farmhand' or its farmhand_core failed in $BLENDER_BIN:
$(printf '%s\n' "$out" | tail -n 15)"
  set -- $ok
  printf 'install.sh: Farmhand %s (farmhand_core %s) installed at %s\n' "$2" "$3" "$(dirname "$4")"
}

if [ "$SERVICE" = 0 ]; then
  if [ -n "${BLENDER_USER_SCRIPTS:-}" ]; then
    scripts=$BLENDER_USER_SCRIPTS
  else
    ver=$("$BLENDER_BIN" --version 2>/dev/null | sed -n '1s/^Blender \([0-9]*\.[0-9]*\).*/\1/p')
    scripts=${XDG_CONFIG_HOME:-$HOME/.config}/blender/$ver/scripts
  fi
  install_addon "$scripts"
  # Blender finds the add-on only in the scripts dir it was installed to: name it in the
  # command when it is not Blender's default (BLENDER_USER_SCRIPTS was set).
  prefix=
  [ -n "${BLENDER_USER_SCRIPTS:-}" ] && prefix="BLENDER_USER_SCRIPTS=$scripts "
  echo "install.sh: run the worker with: $prefix$BLENDER_BIN -b --python-expr \"import farmhand; farmhand.run_headless()\" -- --backend URL"
  exit 0
fi

# ---- service -------------------------------------------------------------------
DEST=${FARMHAND_DESTDIR:-}
if [ -z "$DEST" ]; then
  [ "$(id -u)" = 0 ] || die "--service needs root (sudo), or FARMHAND_DESTDIR to stage files"
  if ! id farmhand >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/farmhand --create-home --shell /usr/sbin/nologin \
      --user-group farmhand
  fi
  for g in video render; do getent group "$g" >/dev/null && usermod -aG "$g" farmhand; done
  install -d -m 0700 -o farmhand -g farmhand /var/lib/farmhand
  install_addon /var/lib/farmhand/blender/scripts farmhand
else
  install -d -m 0700 "$DEST/var/lib/farmhand"
  install_addon "$DEST/var/lib/farmhand/blender/scripts"
fi

install -d -m 0755 "$DEST/etc/farmhand" "$DEST/etc/systemd/system"
if [ ! -f "$DEST/etc/farmhand/worker.env" ]; then
  install -m 0640 "$HERE/worker.env" "$DEST/etc/farmhand/worker.env"
  [ -z "$DEST" ] && chown root:farmhand /etc/farmhand/worker.env
  echo "install.sh: wrote $DEST/etc/farmhand/worker.env: set FARMHAND_BACKEND_URL (and FARMHAND_DEVICE) there"
else
  echo "install.sh: kept existing $DEST/etc/farmhand/worker.env"
fi
sed "s#-- /usr/bin/blender #-- $BLENDER_BIN #" "$HERE/farmhand-worker.service" \
  > "$DEST/etc/systemd/system/farmhand-worker.service"
chmod 0644 "$DEST/etc/systemd/system/farmhand-worker.service"
echo "install.sh: wrote $DEST/etc/systemd/system/farmhand-worker.service"
if [ -z "$DEST" ]; then
  systemctl daemon-reload
  if [ "$START" = 1 ]; then
    systemctl enable --now farmhand-worker.service
    echo "install.sh: started; follow it with: journalctl -u farmhand-worker -f"
  else
    systemctl enable farmhand-worker.service
  fi
fi
