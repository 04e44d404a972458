"""The .blend header of a submitted asset, read through kubo at submission (docs/protocol.md
"Matching"): the first 64 KiB (enough for the header of a plain, gzip or zstd file) go to
``farmhand_core.blend.inspect`` (native/src/blend/header.cpp), the core's header reader."""

from __future__ import annotations

import os
import tempfile

from .errors import ApiError
from .kubo import Kubo, KuboError

PREFIX_BYTES = 64 * 1024


def _inspect(data: bytes) -> dict:
    import farmhand_core  # noqa: PLC0415 -- optional until a non-trusted coordinator needs it

    fd, path = tempfile.mkstemp(prefix="farmhand-header-", suffix=".blend")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return farmhand_core.blend.inspect(path, len(data) + 1)
    finally:
        os.unlink(path)


async def read_header(kubo: Kubo, cid: str) -> dict:
    """{"version": 304, "compression": "zstd", ...} of the .blend ``cid``. ApiError 422
    asset_unavailable (kubo cannot give it) or asset_not_blend."""
    try:
        data = await kubo.cat(cid, PREFIX_BYTES + 1, length=PREFIX_BYTES)
    except KuboError as exc:
        raise ApiError(422, "asset_unavailable",
                       f"the coordinator's IPFS node cannot give asset {cid} ({exc}); add the "
                       "file to IPFS (python -m coordinator submit does) and retry") from None
    try:
        return _inspect(data)
    except Exception as exc:  # noqa: BLE001 -- BlendInvalid and friends from the core
        raise ApiError(422, "asset_not_blend",
                       f"asset {cid} is not a .blend file Farmhand can render: {exc}") from None
