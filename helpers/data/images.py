"""Load images as RGB whatever their mode, with fast reduced-size JPEG decoding."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

READ_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError)
_ORIENTATION_TAG = 0x0112
# EXIF orientation -> the transpose that makes the image upright.
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}
_WHITE = (255, 255, 255)


class ImageError(ValueError):
    """An image file is missing, corrupt or truncated; the message names the file."""


def _fail(path: str | Path, err: BaseException) -> ImageError:
    if isinstance(err, FileNotFoundError):
        what = "file not found"
    else:
        what = f"cannot be read as an image ({type(err).__name__}: {err})"
    return ImageError(f"{path}: {what}; replace it with the original image file from the data set.")


def _upright(im: Image.Image) -> Image.Image:
    """Apply the EXIF orientation, if any (cheap: no copy when the image is already upright)."""
    try:
        orientation = im.getexif().get(_ORIENTATION_TAG, 1)
    except Exception:  # a broken EXIF block should not make an otherwise fine image unreadable
        return im
    method = _TRANSPOSE.get(orientation)
    return im.transpose(method) if method is not None else im


def _high_bit_depth_to_l(im: Image.Image) -> Image.Image:
    """16-bit / 32-bit / float grey -> 8-bit grey (PIL's own conversion clips at 255)."""
    arr = np.asarray(im)
    if im.mode.startswith("I;16"):
        arr = arr.astype(np.float32) / 257.0
    elif im.mode == "F" and arr.size and float(np.nanmax(arr)) <= 1.0:
        arr = arr * 255.0  # floats in [0, 1]
    elif arr.size and float(arr.max()) > 255:
        arr = arr.astype(np.float32) / 257.0  # 'I' holding 16-bit data (older Pillow PNG decoding)
    return Image.fromarray(np.clip(np.nan_to_num(arr), 0, 255).astype(np.uint8), mode="L")


def to_rgb(im: Image.Image) -> Image.Image:
    """Any PIL mode -> RGB; transparent images are composited on white."""
    mode = im.mode
    if mode == "RGB":
        return im
    if mode == "P" and "transparency" in im.info:
        im, mode = im.convert("RGBA"), "RGBA"
    if mode in _ALPHA_MODES:
        rgba = im.convert("RGBA") if mode != "RGBA" else im
        background = Image.new("RGB", rgba.size, _WHITE)
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if mode.startswith("I") or mode == "F":
        im = _high_bit_depth_to_l(im)
    return im.convert("RGB")


def load_rgb(path: str | Path) -> Image.Image:
    """Open an image as an upright RGB PIL image; raises ImageError naming the file if it is unreadable."""
    try:
        with Image.open(path) as im:
            im.load()
            return to_rgb(_upright(im))
    except READ_ERRORS as err:
        raise _fail(path, err) from None


def load_rgb_resized(path: str | Path, size: int) -> Image.Image:
    """Upright RGB image stretched to (size, size), no crop.

    JPEGs are decoded at a reduced DCT scale (Image.draft) that is still at least size x size,
    which is several times faster than a full decode; the final resize is bilinear with antialias.
    """
    try:
        with Image.open(path) as im:
            if im.format == "JPEG":
                im.draft("RGB", (size, size))
            im.load()
            rgb = to_rgb(_upright(im))
    except READ_ERRORS as err:
        raise _fail(path, err) from None
    if rgb.size != (size, size):
        rgb = rgb.resize((size, size), Image.Resampling.BILINEAR)
    return rgb
