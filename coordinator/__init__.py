"""Farmhand reference coordinator: FastAPI + uvicorn over SQLite (WAL).

The HTTP contract it implements is docs/protocol.md. Entry point: ``python -m coordinator``.
"""

__version__ = "0.1.0"
