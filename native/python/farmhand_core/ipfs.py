"""IPFS for Farmhand: CIDs identical to kubo's, and transfers that verify every block.

- ``cid_of(path, cid_version=0)``: what ``ipfs add -Q --only-hash [-r]`` prints.
- ``sha256_file_hex(path)``: lower-case hex SHA-256 of a file.
- ``parse_cid(text)``: ``(version, codec, canonical_text)``; raises ``CidInvalid``.
- ``Client(rpc_urls, gateway_urls, max_bytes=4 GiB, timeout_s=60, cid_version=0, car=True,
  plain_min_bytes=128 MiB, plain_streams=4, durable=False)``
  with ``.download(cid, dest_dir, progress=None, filename=None) -> str`` and
  ``.upload(path) -> str``.

Errors (also importable from ``farmhand_core``): ``CidInvalid``, ``CidMismatch``,
``BlockVerificationFailed``, ``NotFound``, ``TooLarge``, ``Timeout``, ``Cancelled``,
``NetworkError``, ``HttpStatusError``, ``IoError``, ``InvalidArgument``.
"""

from ._native import (  # noqa: F401
    BlockVerificationFailed,
    Cancelled,
    CidInvalid,
    CidMismatch,
    HttpStatusError,
    InvalidArgument,
    IoError,
    IpfsError,
    MalformedResponse,
    NetworkError,
    NotFound,
    Timeout,
    TooLarge,
)
from ._native.ipfs import Client, cid_of, parse_cid, sha256_file_hex  # noqa: F401

__all__ = [
    "BlockVerificationFailed", "Cancelled", "CidInvalid", "CidMismatch", "Client",
    "HttpStatusError", "InvalidArgument", "IoError", "IpfsError", "MalformedResponse",
    "NetworkError", "NotFound", "Timeout", "TooLarge", "cid_of", "parse_cid",
    "sha256_file_hex",
]
