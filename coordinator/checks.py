"""Result checks and result comparison (docs/protocol.md "Result checks", "Spot verification").

Frames are decoded with Pillow. A frame passes when it decodes completely, is in the job's
format, has the expected resolution and is not blank (every pixel one colour: SheepIt's black
frame rule). Two renders of a frame agree when their PSNR (peak signal-to-noise ratio over the
8-bit RGBA channels, 10·log10(255² / MSE)) is at least 40 dB; identical pixels are +inf.
"""

from __future__ import annotations

import io
import math
import warnings

from PIL import Image, ImageChops, ImageStat

PIL_FORMATS = {"PNG": "PNG", "JPEG": "JPEG"}
EXR_MAGIC = b"\x76\x2f\x31\x01"         # OpenEXR file layout: magic number 20000630
EXTENSIONS = {"PNG": ".png", "JPEG": ".jpg", "OPEN_EXR": ".exr"}   # addon/farmhand/render.py
MIN_PSNR_DB = 40.0


class CheckFailed(Exception):
    """A frame failed a check; the message says which frame and why."""


def frame_name(frame: int, output_format: str) -> str:
    """The worker's file name for ``frame`` (addon/farmhand/render.py frame_filename)."""
    return f"frame_{frame:04d}{EXTENSIONS[output_format]}"


def _decode(data: bytes, name: str) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            img.load()
        return img
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning,
            Image.DecompressionBombError) as exc:
        raise CheckFailed(f"{name} does not decode: {exc}") from None


def check_frame(data: bytes, name: str, output_format: str,
                resolution: list[int] | None) -> list[int] | None:
    """Check one frame file; returns its [width, height] (None for EXR, not decoded here).
    Raises CheckFailed."""
    if output_format == "OPEN_EXR":
        if not data.startswith(EXR_MAGIC):
            raise CheckFailed(f"{name} is not an OpenEXR file (bad magic number)")
        return None
    img = _decode(data, name)
    if img.format != PIL_FORMATS[output_format]:
        raise CheckFailed(f"{name} is {img.format}, the job asked for {output_format}")
    size = [img.width, img.height]
    if resolution is not None and size != list(resolution):
        raise CheckFailed(f"{name} is {size[0]}x{size[1]}, the job's frames are "
                          f"{resolution[0]}x{resolution[1]}")
    extrema = img.getextrema()
    bands = extrema if isinstance(extrema[0], tuple) else (extrema,)
    if all(low == high for low, high in bands):
        raise CheckFailed(f"{name} is blank (every pixel is one colour)")
    return size


def psnr(a: bytes, b: bytes) -> float:
    """PSNR in dB of two image files over 8-bit RGBA; 0.0 when their sizes differ or one does
    not decode; math.inf when identical."""
    try:
        first, second = _decode(a, "a").convert("RGBA"), _decode(b, "b").convert("RGBA")
    except CheckFailed:
        return 0.0
    if first.size != second.size:
        return 0.0
    stat = ImageStat.Stat(ImageChops.difference(first, second))
    mse = sum(stat.sum2) / (first.width * first.height * 4)
    return math.inf if mse == 0 else 10 * math.log10(255 ** 2 / mse)
