"""The compiled module imports and exposes its version and exception hierarchy."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_version_matches_project_version(farmhand_core):
    assert farmhand_core.__version__ == (REPO_ROOT / "VERSION").read_text().strip()


def test_exception_hierarchy(farmhand_core):
    assert issubclass(farmhand_core.LeaseLost, farmhand_core.BackendError)
    assert issubclass(farmhand_core.CidMismatch, farmhand_core.IpfsError)
    assert issubclass(farmhand_core.CidInvalid, ValueError)
    assert issubclass(farmhand_core.BackendError, farmhand_core.FarmhandError)
