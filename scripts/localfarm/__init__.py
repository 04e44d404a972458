"""A local farm for tests, the demo and benchmarks: an isolated kubo node and the
reference coordinator, each started on free loopback ports and stopped afterwards.

    with Kubo.start() as kubo, Coordinator.start(db_path) as coord:
        kubo.api_url, kubo.gateway_url, coord.url
"""

from .coordinator import Coordinator
from .kubo import Kubo
from .paths import REPO_ROOT, ipfs_binary, venv_python

__all__ = ["Coordinator", "Kubo", "REPO_ROOT", "ipfs_binary", "venv_python"]
