"""Start-up refusals of the farm (exit 2 with a message saying what to do): a coordinator that
checks results needs farmhand_core; a database of the pre-task schema is not reused."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _serve(tmp_path: Path, db: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))    # no build/release/python: no core
    return subprocess.run([sys.executable, "-m", "coordinator", "serve", "--db", str(db),
                           "--dev", "--port", "9", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)


def test_checking_coordinator_without_farmhand_core_refuses_to_start(tmp_path):
    proc = _serve(tmp_path, tmp_path / "farm.sqlite")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "farmhand_core is not importable" in proc.stderr
    assert "--trusted" in proc.stderr


def test_database_of_the_one_table_schema_is_refused(tmp_path):
    db = tmp_path / "old.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE jobs (id INTEGER PRIMARY KEY, status TEXT)")
    proc = _serve(tmp_path, db, "--trusted")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "schema version 0" in proc.stderr and "new --db file" in proc.stderr
