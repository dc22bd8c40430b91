"""Image loading in every PIL mode, EXIF orientation, broken files and the folder check."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers.data.images import ImageError, check_images, load_rgb, load_rgb_resized


def save(img: Image.Image, path: Path, **kwargs) -> Path:
    img.save(path, **kwargs)
    return path


def gradient(w: int = 40, h: int = 30) -> np.ndarray:
    x = np.linspace(0, 255, w, dtype=np.float32)[None, :].repeat(h, 0)
    return np.stack([x, x[::-1, ::-1], np.full_like(x, 128)], axis=-1).astype(np.uint8)


def make_mode(mode: str) -> Image.Image:
    rgb = Image.fromarray(gradient())
    if mode == "P_transparent":
        img = rgb.convert("P")
        img.info["transparency"] = 0
        return img
    if mode == "I;16":
        return Image.fromarray(np.asarray(rgb.convert("L")).astype(np.uint16) * 257)
    if mode == "RGBA":
        img = rgb.convert("RGBA")
        img.putalpha(128)
        return img
    return rgb.convert(mode)


CASES = [
    ("RGB", "png"), ("RGB", "jpg"), ("L", "png"), ("L", "jpg"), ("CMYK", "jpg"), ("P", "png"),
    ("P_transparent", "png"), ("RGBA", "png"), ("LA", "png"), ("1", "png"), ("I;16", "png"),
]


@pytest.mark.parametrize(("mode", "ext"), CASES)
def test_every_mode_loads_as_rgb(tmp_path, mode, ext):
    path = save(make_mode(mode), tmp_path / f"img.{ext}")
    img = load_rgb(path)
    assert img.mode == "RGB" and img.size == (40, 30)
    small = load_rgb_resized(path, 16)
    assert small.mode == "RGB" and small.size == (16, 16)


def test_sixteen_bit_grey_is_scaled_not_clipped(tmp_path):
    img = Image.fromarray(np.full((8, 8), 32896, dtype=np.uint16))  # 128 * 257
    arr = np.asarray(load_rgb(save(img, tmp_path / "g16.png")))
    assert np.all(np.abs(arr.astype(int) - 128) <= 1)


def test_transparency_is_composited_on_white(tmp_path):
    img = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    arr = np.asarray(load_rgb(save(img, tmp_path / "t.png")))
    assert arr.min() == 255


def test_cmyk_jpeg_colours(tmp_path):
    img = Image.new("RGB", (16, 16), (200, 30, 30)).convert("CMYK")
    arr = np.asarray(load_rgb(save(img, tmp_path / "c.jpg", quality=95))).astype(int)
    assert arr[..., 0].mean() > 150 and arr[..., 1].mean() < 80  # still red, not inverted


def test_exif_orientation_is_applied(tmp_path):
    arr = np.zeros((20, 40, 3), dtype=np.uint8)
    arr[:, :20] = 255  # left half white
    img = Image.fromarray(arr)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display needs a 90 degree clockwise turn
    path = save(img, tmp_path / "rot.jpg", exif=exif, quality=95)
    out = load_rgb(path)
    assert out.size == (20, 40)
    top, bottom = np.asarray(out)[:10].mean(), np.asarray(out)[-10:].mean()
    assert top > 200 and bottom < 50  # the white left half is now on top
    resized = load_rgb_resized(path, 8)
    assert resized.size == (8, 8) and np.asarray(resized)[:2].mean() > 200


def test_resized_is_stretched_not_cropped(tmp_path):
    arr = np.zeros((480, 640, 3), dtype=np.uint8)
    arr[:, :10] = 255  # a thin white stripe at the left edge survives only without cropping
    path = save(Image.fromarray(arr), tmp_path / "wide.jpg", quality=95)
    out = np.asarray(load_rgb_resized(path, 224))
    assert out.shape == (224, 224, 3)
    assert out[:, 0].mean() > 200 and out[:, 112].mean() < 20


def test_truncated_jpeg_raises_naming_the_file(tmp_path):
    good = save(Image.fromarray(gradient(200, 150)), tmp_path / "good.jpg", quality=95)
    bad = tmp_path / "truncated.jpg"
    data = good.read_bytes()
    bad.write_bytes(data[: len(data) // 2])  # cut in the middle of the pixel data
    for loader in (load_rgb, lambda p: load_rgb_resized(p, 32)):
        with pytest.raises(ImageError, match="truncated.jpg"):
            loader(bad)


@pytest.mark.parametrize("content", [b"this is not an image", b""])
def test_garbage_raises_naming_the_file(tmp_path, content):
    path = tmp_path / "garbage.jpg"
    path.write_bytes(content)
    with pytest.raises(ImageError, match=r"garbage\.jpg.*cannot be read as an image"):
        load_rgb(path)


def test_missing_file_raises_image_error(tmp_path):
    with pytest.raises(ImageError, match=r"nope\.jpg.*not found"):
        load_rgb(tmp_path / "nope.jpg")


def test_check_images_reports_missing_and_corrupt(tmp_path):
    for name in ("a.jpg", "b.jpg"):
        save(Image.fromarray(gradient()), tmp_path / name)
    (tmp_path / "c.jpg").write_bytes(b"garbage")
    (tmp_path / "dir.jpg").mkdir()  # a folder is not an image file
    ids = ["a.jpg", "b.jpg", "c.jpg", "d.jpg", "dir.jpg"]
    quick = check_images(tmp_path, ids)
    assert quick.missing == ["d.jpg", "dir.jpg"] and quick.corrupt == [] and not quick.ok
    full = check_images(tmp_path, ids, verify=True)
    assert full.missing == ["d.jpg", "dir.jpg"] and full.corrupt == ["c.jpg"]
    assert "corrupt" in full.reasons["c.jpg"] and full.bad == ["d.jpg", "dir.jpg", "c.jpg"]
    assert check_images(tmp_path, ["a.jpg", "b.jpg"], verify=True).ok
    assert check_images(tmp_path / "absent", ["a.jpg"]).missing == ["a.jpg"]
