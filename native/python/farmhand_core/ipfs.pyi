"""Type stubs for farmhand_core.ipfs."""

from os import PathLike
from typing import Callable, Optional, Sequence, Tuple, Union

from . import (
    BlockVerificationFailed as BlockVerificationFailed,
    Cancelled as Cancelled,
    CidInvalid as CidInvalid,
    CidMismatch as CidMismatch,
    HttpStatusError as HttpStatusError,
    InvalidArgument as InvalidArgument,
    IoError as IoError,
    IpfsError as IpfsError,
    MalformedResponse as MalformedResponse,
    NetworkError as NetworkError,
    NotFound as NotFound,
    Timeout as Timeout,
    TooLarge as TooLarge,
)

_Path = Union[str, PathLike[str]]

def cid_of(path: _Path, cid_version: int = 0) -> str: ...
def sha256_file_hex(path: _Path) -> str: ...
def parse_cid(cid: str) -> Tuple[int, int, str]: ...

class Client:
    def __init__(
        self,
        rpc_urls: Sequence[str],
        gateway_urls: Sequence[str] = ...,
        max_bytes: int = 4 << 30,
        timeout_s: float = 60.0,
        cid_version: int = 0,
        car: bool = True,
        plain_min_bytes: int = 128 << 20,
        plain_streams: int = 4,
        durable: bool = False,
    ) -> None: ...
    def download(
        self,
        cid: str,
        dest_dir: _Path,
        progress: Optional[Callable[[int, int], Optional[bool]]] = None,
        filename: Optional[str] = None,
    ) -> str: ...
    def upload(self, path: _Path) -> str: ...
