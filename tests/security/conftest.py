"""Fixtures of the security tests: the e2e helpers (scripts/demo_farm.py) on sys.path."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
