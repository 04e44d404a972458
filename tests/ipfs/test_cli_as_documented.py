"""docs/ipfs.md's `python -m farmhand_core cid` line works as written from the repository
root (issue 15: the documented form failed with "No module named farmhand_core")."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _documented_line() -> str:
    text = (REPO / "docs" / "ipfs.md").read_text()
    lines = re.findall(r"^(PYTHONPATH=\S+ \.venv/bin/python -m farmhand_core cid .*)$", text,
                       re.M)
    assert len(lines) == 1, lines
    return lines[0]


def test_documented_cli_line_prints_kubos_cid(kubo):
    line = _documented_line()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    ours = subprocess.run(["bash", "-c", line], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60)
    assert ours.returncode == 0, ours.stderr
    path = REPO / line.split()[-1]
    assert ours.stdout.strip() == kubo.only_hash(path, "--cid-version=1")
    assert ours.stdout.startswith("bafk")
