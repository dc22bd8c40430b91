"""Drawing of the demo data set's images: one cartoon object per label on a cluttered background.

Each of the 18 labels has its own silhouette, colour scheme and texture (helpers.demo.objects).
`render_image` places the objects of one row with random size, position, rotation, colour jitter,
transparency and overlap, adds distractor shapes that are no label and pixel noise, and returns a
PIL image. Everything random comes from the numpy Generator passed in, so one seed gives one image.
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from helpers.demo.objects import STYLES
from helpers.demo.sketch import RGB, Sketch

# Fractions of the image's shorter side for an object's height.
SIZE_RANGE = (0.16, 0.62)
TINY_SIZE_RANGE = (0.05, 0.10)
TINY_PROBABILITY = 0.15  # some objects are barely visible, so pixels alone cannot be perfect
FAINT_PROBABILITY = 0.15  # drawn half transparent: low contrast against the background
GRAYSCALE_PROBABILITY = 0.02
NOISE_POOL = 1024  # side of the precomputed noise field; larger than any image


# ---------------------------------------------------------------- colours and textures

def _jitter(colour: RGB, rng: np.random.Generator, amount: float = 18) -> RGB:
    """Overall brightness change plus a little per-channel noise."""
    gain = rng.uniform(0.78, 1.18)
    noise = rng.normal(0, amount, 3)
    return tuple(min(255, max(0, int(v * gain + d))) for v, d in zip(colour, noise, strict=True))  # type: ignore[return-value]


def _apply_texture(layer: Image.Image, texture: str, rng: np.random.Generator) -> Image.Image:
    """Darken a pattern (stripes, checker, spots) inside the object's silhouette."""
    if texture == "plain":
        return layer
    arr = np.asarray(layer).copy()
    h, w = arr.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    period = max(3, int(min(h, w) * rng.uniform(0.12, 0.22)))
    if texture == "stripes":
        mask = ((xx + yy * 0.3) // max(period // 2, 1)) % 2 == 0
    elif texture == "checker":
        mask = ((xx // period) + (yy // period)) % 2 == 0
    else:  # spots
        mask = np.zeros((h, w), bool)
        for _ in range(int(rng.integers(3, 7))):
            cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), period * rng.uniform(0.4, 0.8)
            mask |= (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
    arr[..., :3][mask] = (arr[..., :3][mask] * 0.55).astype(np.uint8)
    return Image.fromarray(arr, "RGBA")


def _object_layer(label: int, height: int, rng: np.random.Generator) -> Image.Image:
    style = STYLES[label]
    aspect = style.aspect * rng.uniform(0.85, 1.18)
    sketch = Sketch(round(height * aspect), height)
    style.drawer(sketch, [_jitter(c, rng) for c in style.colours], rng)
    layer = _apply_texture(sketch.image, style.texture, rng)
    if rng.random() < 0.5:
        layer = layer.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    angle = rng.normal(0, 12)
    layer = layer.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True)
    if rng.random() < FAINT_PROBABILITY:
        alpha = np.asarray(layer.getchannel("A"), float) * rng.uniform(0.35, 0.65)
        layer.putalpha(Image.fromarray(alpha.astype(np.uint8), "L"))
    return layer


# ---------------------------------------------------------------- background and clutter

def _random_colour(rng: np.random.Generator) -> RGB:
    return tuple(int(v) for v in rng.integers(0, 256, 3))  # type: ignore[return-value]


def _background(width: int, height: int, rng: np.random.Generator) -> Image.Image:
    """Vertical gradient between two random colours (sky over ground, wall over floor...)."""
    top, bottom = np.asarray(_random_colour(rng), float), np.asarray(_random_colour(rng), float)
    t = np.linspace(0, 1, height)[:, None, None]
    column = Image.fromarray((top * (1 - t) + bottom * t).astype(np.uint8), "RGB")
    return column.resize((width, height), Image.Resampling.NEAREST)


def _draw_clutter(image: Image.Image, count: int, rng: np.random.Generator) -> None:
    """Stripes, blobs, boxes and irregular polygons that are no label."""
    draw = ImageDraw.Draw(image, "RGBA")
    w, h = image.size
    for _ in range(count):
        colour = (*_random_colour(rng), int(rng.integers(90, 256)))
        kind = rng.integers(4)
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        size = rng.uniform(0.05, 0.4) * min(w, h)
        if kind == 0:  # stripe across the image
            x2, y2 = rng.uniform(0, w), rng.uniform(0, h)
            draw.line([(x, y), (x2, y2)], fill=colour, width=int(rng.integers(2, 10)))
        elif kind == 1:  # blob
            draw.ellipse([x - size, y - size * rng.uniform(0.3, 1), x + size, y + size], fill=colour)
        elif kind == 2:  # box (building, window, table)
            draw.rectangle([x, y, x + size * rng.uniform(0.3, 2), y + size * rng.uniform(0.3, 2)], fill=colour)
        else:  # irregular polygon
            n = int(rng.integers(3, 6))
            angles = np.sort(rng.uniform(0, 2 * np.pi, n))
            radii = size * rng.uniform(0.3, 1, n)
            points = [(x + r * np.cos(a), y + r * np.sin(a)) for a, r in zip(angles, radii, strict=True)]
            draw.polygon(points, fill=colour)


def _instances(label: int, rng: np.random.Generator) -> int:
    """How many copies of a present object to draw (people and birds come in groups)."""
    if label in (1, 16):
        return 1 + int(min(rng.geometric(0.55) - 1, 4))
    return 1 + int(rng.random() < 0.15)


def _paste_object(image: Image.Image, label: int, rng: np.random.Generator) -> None:
    w, h = image.size
    low, high = TINY_SIZE_RANGE if rng.random() < TINY_PROBABILITY else SIZE_RANGE
    height = max(4, round(min(w, h) * np.exp(rng.uniform(np.log(low), np.log(high)))))
    layer = _object_layer(label, height, rng)
    lw, lh = layer.size
    # The centre stays inside the image; an object may be cut by the border.
    x = int(rng.uniform(0, w) - lw / 2)
    y = int(rng.uniform(0.1 * h, h) - lh / 2)
    image.paste(layer, (x, y), layer)


@lru_cache(maxsize=1)
def _noise_pool() -> np.ndarray:
    """A fixed field of Gaussian noise; each image takes a random crop (drawing fresh noise is slow)."""
    return np.random.default_rng(12345).normal(0, 1, (NOISE_POOL, NOISE_POOL, 1)).astype(np.float32)


def _add_noise(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Grain of a random strength (sigma 3 to 16 grey levels), the same on the three channels."""
    w, h = image.size
    x, y = rng.integers(0, NOISE_POOL - w), rng.integers(0, NOISE_POOL - h)
    noise = _noise_pool()[y:y + h, x:x + w] * rng.uniform(3, 16)
    arr = np.asarray(image, np.float32) + noise
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def render_image(labels: Sequence[int], rng: np.random.Generator) -> Image.Image:
    """One demo image for a row's labels; mode 'RGB', or 'L' for about 2 % of images."""
    width, height = int(rng.integers(200, 401)), int(rng.integers(150, 401))
    image = _background(width, height, rng)
    _draw_clutter(image, int(rng.integers(4, 14)), rng)
    objects = [label for label in labels for _ in range(_instances(label, rng))]
    rng.shuffle(objects)
    for label in objects:
        _paste_object(image, label, rng)
    _draw_clutter(image, int(rng.integers(0, 3)), rng)  # occluders in front of the objects
    image = _add_noise(image, rng)
    if rng.random() < GRAYSCALE_PROBABILITY:
        image = image.convert("L")
    return image
