"""Assemble the two add-on zips from the add-on source and the built wheels.

    python packaging/lib/make_addon_zips.py --version 0.1.0 --platform linux-x64 \
        --addon addon/farmhand --dist dist WHEEL...

writes into --dist:
  farmhand-<ver>-<platform>.zip         extension (Blender >= 4.2): the add-on's files at the
                                        zip root, blender_manifest.toml, wheels/<WHEEL>...
  farmhand-<ver>-legacy-<platform>.zip  legacy add-on (Blender 3.4-4.1): farmhand/... with every
                                        wheel's contents unpacked into farmhand/vendor/

Both carry the same add-on code; its bl_info["version"] is stamped from --version. The
source tree's own vendor/ (a development copy) is never packed. Zips are reproducible:
sorted entries, timestamps from SOURCE_DATE_EPOCH (default 1980-01-01).
Exit status 1 with a message if the add-on or a wheel is unusable.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bl_info import BlInfoError, stamp_version  # noqa: E402
from manifest import render_manifest  # noqa: E402

SKIP_DIRS = {"vendor", "__pycache__", ".pytest_cache"}
SKIP_SUFFIXES = {".pyc", ".pyo", ".orig", ".rej", ".swp"}


def addon_files(addon_dir: Path) -> list[tuple[str, bytes]]:
    """(path relative to the add-on package, bytes) for every file to ship, sorted.

    Skips vendor/ (top level only), caches, editor leftovers and dotfiles."""
    out = []
    for path in sorted(addon_dir.rglob("*")):
        rel = path.relative_to(addon_dir)
        if not path.is_file() or any(p.startswith(".") for p in rel.parts):
            continue
        if rel.parts[0] == "vendor" or any(p in SKIP_DIRS - {"vendor"} for p in rel.parts):
            continue
        if path.suffix in SKIP_SUFFIXES:
            continue
        out.append((rel.as_posix(), path.read_bytes()))
    return out


def wheel_payload(wheel: Path) -> list[tuple[str, bytes, int]]:
    """(path, bytes, unix mode) of a wheel's importable files, without its .dist-info."""
    out = []
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            if info.is_dir() or info.filename.split("/")[0].endswith(".dist-info"):
                continue
            mode = (info.external_attr >> 16) & 0o777 or 0o644
            out.append((info.filename, zf.read(info), mode))
    return out


def _date_time() -> tuple:
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))
    return time.gmtime(max(epoch, 315532800))[:6]


def write_zip(path: Path, entries: list[tuple[str, bytes, int]]) -> None:
    """Write ``entries`` (name, data, mode) deflated, in name order, with fixed timestamps."""
    tmp = path.with_name(path.name + ".part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data, mode in sorted(entries):
            info = zipfile.ZipInfo(name, _date_time())
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    tmp.replace(path)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--version", required=True)
    ap.add_argument("--platform", required=True)
    ap.add_argument("--addon", type=Path, required=True)
    ap.add_argument("--dist", type=Path, required=True)
    ap.add_argument("--license", type=Path, help="licence text shipped as LICENSE in both zips")
    ap.add_argument("wheels", type=Path, nargs="+")
    args = ap.parse_args(argv)

    init = args.addon / "__init__.py"
    if not init.is_file():
        print(f"make_addon_zips: {init} not found", file=sys.stderr)
        return 1
    files = []
    for rel, data in addon_files(args.addon):
        if rel == "__init__.py":
            try:
                data = stamp_version(data.decode("utf-8"), args.version).encode("utf-8")
            except BlInfoError as exc:
                print(f"make_addon_zips: {init}: {exc}", file=sys.stderr)
                return 1
        files.append((rel, data, 0o644))
    if args.license:
        files = [f for f in files if f[0] != "LICENSE"]
        files.append(("LICENSE", args.license.read_bytes(), 0o644))

    legacy = [(f"farmhand/{rel}", data, mode) for rel, data, mode in files]
    seen: dict[str, bytes] = {}
    for wheel in args.wheels:
        for name, data, mode in wheel_payload(wheel):
            # Several Pythons' wheels share the pure-Python files; keep one copy and
            # refuse a real conflict rather than pack the wrong one.
            if name in seen:
                if seen[name] != data:
                    print(f"make_addon_zips: {name} differs between wheels", file=sys.stderr)
                    return 1
                continue
            seen[name] = data
            legacy.append((f"farmhand/vendor/{name}", data, mode))
    wheel_names = [w.name for w in args.wheels]
    manifest = render_manifest(args.version, [args.platform], wheel_names).encode()
    extension = files + [("blender_manifest.toml", manifest, 0o644)]
    extension += [(f"wheels/{w.name}", w.read_bytes(), 0o644) for w in args.wheels]
    write_zip(args.dist / f"farmhand-{args.version}-{args.platform}.zip", extension)

    write_zip(args.dist / f"farmhand-{args.version}-legacy-{args.platform}.zip", legacy)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
