"""Image files: load them as upright RGB whatever their mode, and check a folder of them before anything runs.

Loading (`load_rgb`, `load_rgb_resized`) decodes JPEGs at a reduced DCT scale when a small size is asked
for, and raises ImageError naming the file when it cannot be read. Checking (`check_images`,
`check_image_files` with its cache) finds the missing and unreadable files of a list of ImageIDs; the
data-folder reader (helpers.data.dataset) turns its report into messages naming the CSV lines.

Check levels: "exists" (one directory listing), "header" (PIL opens each header and the JPEG/PNG end
marker is present: finds non-images and truncated copies), "full" (every image decoded at a tiny
scale, over every CPU). The result of a header/full check is kept in a JSON file keyed by the data
fingerprint, so only the first notebook on a data set pays for it.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, UnidentifiedImageError

from helpers.core.console import headless
from helpers.core.files import read_json, write_json

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


@dataclass
class ImageReport:
    """Result of check_images: IDs without a file, IDs whose file is not a readable image."""

    missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)  # ImageID -> what is wrong

    @property
    def ok(self) -> bool:
        return not self.missing and not self.corrupt

    @property
    def bad(self) -> list[str]:
        return self.missing + self.corrupt


def list_image_files(images_dir: str | Path) -> set[str]:
    """Names of the regular files in a folder (one directory scan, no stat per file on Linux)."""
    with os.scandir(images_dir) as entries:
        return {e.name for e in entries if e.is_file()}


VerifyLevel = Literal["exists", "header", "full"]
VERIFY_LEVELS: tuple[str, ...] = ("exists", "header", "full")
DECODE_CHECK_PX = 32  # the full check decodes each JPEG at its smallest DCT scale that still covers 32 x 32
_END_MARKERS = {"JPEG": b"\xff\xd9", "PNG": b"IEND"}  # found in the last _TAIL_BYTES of a complete file
_TAIL_BYTES = 64
_PARALLEL_FROM = 1000  # images; below this a process pool costs more than it saves
_CHUNK = 256


def verify_level(verify: bool | str) -> str:
    """Normalise check_images' verify argument: False -> 'exists', True -> 'header', or a level name."""
    if verify is True or verify is False:
        return "header" if verify else "exists"
    if verify not in VERIFY_LEVELS:
        raise ValueError(f"verify_images must be one of {VERIFY_LEVELS} (or True / False), got {verify!r}")
    return str(verify)


def _header_problem(path: Path) -> str | None:
    """None if PIL can identify the file from its header and its end marker is there, else a short reason.

    A JPEG without its end-of-image marker (FF D9) or a PNG without its IEND chunk near the end of
    the file is usually a truncated copy; such files, and only those, get the full decode check
    (so a file with harmless trailing bytes still passes).
    """
    try:
        with open(path, "rb") as f:
            with Image.open(f) as im:
                fmt = im.format
                im.size  # noqa: B018 - header parsed by open(); size proves it is an image
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - _TAIL_BYTES))
            tail = f.read()
    except UnidentifiedImageError:
        return "corrupt image: not a format PIL can identify"
    except READ_ERRORS as err:
        return f"corrupt image ({type(err).__name__}: {err})"
    end_marker = _END_MARKERS.get(fmt or "")
    if end_marker is not None and end_marker not in tail:
        return _decode_problem(path)
    return None


def _decode_problem(path: Path) -> str | None:
    """None if the whole file decodes to RGB (as load_rgb_resized does, at a tiny scale), else a short reason.

    Unlike the header check this reads every byte of pixel data, so it also finds truncated files.
    """
    try:
        load_rgb_resized(path, DECODE_CHECK_PX)
    except ImageError as err:
        cause = err.__context__
        if isinstance(cause, UnidentifiedImageError):
            return "corrupt image: not a format PIL can identify"
        if cause is not None:
            return f"corrupt or truncated image ({type(cause).__name__}: {cause})"
        return "corrupt or truncated image"
    return None


def _decode_problems(paths: list[Path]) -> list[str | None]:
    return [_decode_problem(p) for p in paths]


def _find_problems(paths: list[Path], level: str, workers: int | None) -> list[str | None]:
    """One reason (or None) per path; the full decode check runs in a process pool for large folders."""
    if level == "header":
        check = _header_problem
    else:
        workers = workers or os.cpu_count() or 1
        if workers > 1 and len(paths) >= _PARALLEL_FROM:
            chunks = [paths[i:i + _CHUNK] for i in range(0, len(paths), _CHUNK)]
            with ProcessPoolExecutor(max_workers=workers) as pool:
                return [reason for chunk in pool.map(_decode_problems, chunks) for reason in chunk]
        check = _decode_problem
    iterator: Iterable[Path] = paths
    if len(paths) > 2000 and not headless():  # under the pipeline a bar would stay in the saved notebook
        from tqdm.auto import tqdm

        iterator = tqdm(paths, desc=f"checking images ({level})", unit="img", mininterval=2.0, leave=False)
    return [check(p) for p in iterator]


def check_images(images_dir: str | Path, image_ids: Iterable[str], verify: bool | str = False,
                 workers: int | None = None) -> ImageReport:
    """Check that every ImageID has a file in images_dir and, depending on verify, that it is readable.

    verify: 'exists' (or False) - one directory listing; IDs not in it get one extra os.path check
    (so case-insensitive file systems still work). 'header' (or True) - also open each header with
    PIL and look for the JPEG / PNG end marker, decoding the files that lack it: finds files that are
    not images and truncated files, misses damage inside the pixel data of a complete-looking file
    (load_rgb raises ImageError for those when it meets them). 'full' - decode every file at a tiny
    scale (JPEG draft mode): finds all of those, about 1-2 ms per image, spread over `workers`
    processes (default: every CPU).
    """
    level = verify_level(verify)
    images_dir = Path(images_dir)
    image_ids = [str(i) for i in image_ids]
    report = ImageReport()
    present = list_image_files(images_dir) if images_dir.is_dir() else set()
    for image_id in image_ids:
        if image_id not in present and not (images_dir / image_id).is_file():
            report.missing.append(image_id)
            report.reasons[image_id] = "missing image file"
    if level != "exists":
        missing = set(report.missing)
        todo = [i for i in image_ids if i not in missing]
        problems = _find_problems([images_dir / i for i in todo], level, workers)
        for image_id, reason in zip(todo, problems, strict=True):
            if reason is not None:
                report.corrupt.append(image_id)
                report.reasons[image_id] = reason
    return report


def _read_check_cache(path: Path | None, verify: str) -> dict[str, str] | None:
    """{ImageID: reason} of the corrupt images found by an earlier check at the same level, or None."""
    if path is None or not path.is_file():
        return None
    try:
        cached = read_json(path)
    except (OSError, ValueError):
        return None  # unreadable cache: check again
    if not isinstance(cached, dict) or cached.get("verify") != verify or not isinstance(cached.get("corrupt"), dict):
        return None
    return {str(k): str(v) for k, v in cached["corrupt"].items()}


def check_image_files(images_dir: Path, image_ids: list[str], verify: str, cache: Path | None = None) -> ImageReport:
    """check_images, reusing the corrupt-image list of an earlier identical check kept in `cache` (JSON file).

    Missing files are always looked up again (one directory listing); only the slow header / full result is reused.
    """
    corrupt = _read_check_cache(cache, verify)
    if corrupt is None:
        report = check_images(images_dir, image_ids, verify=verify)
        if cache is not None:
            write_json(cache, {"verify": verify, "corrupt": {i: report.reasons[i] for i in report.corrupt}})
        return report
    report = check_images(images_dir, image_ids, verify="exists")  # missing files: one directory listing
    for image_id in image_ids:
        if image_id in corrupt and image_id not in report.reasons:
            report.corrupt.append(image_id)
            report.reasons[image_id] = corrupt[image_id]
    return report

