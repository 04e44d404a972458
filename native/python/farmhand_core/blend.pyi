from os import PathLike
from typing import TypedDict

class HeaderInfo(TypedDict):
    version: int
    version_name: str
    pointer_size: int
    endianness: str
    compression: str
    header_size: int

class ValidatedInfo(HeaderInfo):
    blocks: int
    decompressed_bytes: int
    sdna_structs: int
    current_scene: str  # FileGlobal.curscene's name; '' if the file does not say

def inspect(path: str | PathLike[str], max_bytes: int = ...) -> HeaderInfo: ...
def validate(path: str | PathLike[str], max_bytes: int, running_version: int) -> ValidatedInfo: ...
