""".blend header inspection and validation (the C++ parser in farmhand_core._native).

``inspect(path, max_bytes=2 GiB) -> dict`` with keys version (int, 304 = 3.4),
version_name (str), pointer_size (bytes), endianness ('little'|'big'), compression
('none'|'gzip'|'zstd'), header_size (bytes). ``validate(path, max_bytes, running_version)``
also refuses a file saved by a newer Blender, one that decompresses to more than max_bytes,
one whose block structure (BHead chain, SDNA) does not parse and one that links libraries;
its dict adds blocks, decompressed_bytes and sdna_structs. Both raise
``farmhand_core.BlendInvalid`` (docs/engine.md, "`.blend` validation").
"""

from ._native import blend as _native_blend

inspect = _native_blend.inspect
validate = _native_blend.validate

__all__ = ["inspect", "validate"]
