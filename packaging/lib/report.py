"""Print each artefact's name, size (bytes) and SHA-256, and write SHA256SUMS beside them.

    python packaging/lib/report.py DIST FILE...

SHA256SUMS uses sha256sum(1)'s format ("<hex>  <name>"), so `sha256sum -c SHA256SUMS`
checks a download. Portable (no GNU stat/sha256sum), so it runs on macOS and Windows too.
"""

import hashlib
import sys
from pathlib import Path


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main(argv: list[str]) -> int:
    dist, files = Path(argv[0]), [Path(a) for a in argv[1:]]
    lines = []
    for f in files:
        digest = sha256(f)
        lines.append(f"{digest}  {f.name}\n")
        print(f"  {f.name:<64} {f.stat().st_size:>10} bytes  sha256 {digest}")
    (dist / "SHA256SUMS").write_text("".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
