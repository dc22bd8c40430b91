"""Drawing of the demo data set's images: one cartoon object per label on a cluttered background.

Each of the 18 labels has its own silhouette, colour scheme and texture (person = blue capsule with
a head, car = wide teal body with wheels, stop sign = red octagon, ...). `render_image` places the
objects of one row with random size, position, rotation, colour jitter, transparency and overlap,
adds distractor shapes that are no label and pixel noise, and returns a PIL image. Everything
random comes from the numpy Generator passed in, so one seed gives one image.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

RGB = tuple[int, int, int]

# Fractions of the image's shorter side for an object's height.
SIZE_RANGE = (0.16, 0.62)
TINY_SIZE_RANGE = (0.05, 0.10)
TINY_PROBABILITY = 0.15  # some objects are barely visible, so pixels alone cannot be perfect
FAINT_PROBABILITY = 0.15  # drawn half transparent: low contrast against the background
GRAYSCALE_PROBABILITY = 0.02
NOISE_POOL = 1024  # side of the precomputed noise field; larger than any image


class Sketch:
    """An RGBA canvas drawn in relative coordinates: (0, 0) top left, (1, 1) bottom right."""

    def __init__(self, width: int, height: int) -> None:
        self.w, self.h = max(width, 2), max(height, 2)
        self.image = Image.new("RGBA", (self.w, self.h), (0, 0, 0, 0))
        self.draw = ImageDraw.Draw(self.image)

    def _xy(self, x: float, y: float) -> tuple[float, float]:
        return (x * (self.w - 1), y * (self.h - 1))

    def _box(self, x0: float, y0: float, x1: float, y1: float) -> list[float]:
        return [*self._xy(x0, y0), *self._xy(x1, y1)]

    def rect(self, x0: float, y0: float, x1: float, y1: float, fill: RGB) -> None:
        self.draw.rectangle(self._box(x0, y0, x1, y1), fill=fill)

    def rrect(self, x0: float, y0: float, x1: float, y1: float, fill: RGB, radius: float = 0.3) -> None:
        box = self._box(x0, y0, x1, y1)
        r = radius * min(box[2] - box[0], box[3] - box[1])
        self.draw.rounded_rectangle(box, radius=max(r, 0), fill=fill)

    def ellipse(self, x0: float, y0: float, x1: float, y1: float, fill: RGB | None,
                outline: RGB | None = None, width: float = 0.0) -> None:
        self.draw.ellipse(self._box(x0, y0, x1, y1), fill=fill, outline=outline,
                          width=max(1, round(width * self.h)) if outline else 0)

    def circle(self, cx: float, cy: float, r: float, fill: RGB | None, outline: RGB | None = None,
               width: float = 0.0) -> None:
        """r is relative to the height, so circles stay round on wide canvases."""
        rx = r * self.h / self.w
        self.ellipse(cx - rx, cy - r, cx + rx, cy + r, fill, outline, width)

    def regular_polygon(self, cx: float, cy: float, r: float, sides: int, fill: RGB, turn: float = 0.0) -> None:
        """r is relative to the height, like circle()."""
        angles = turn + 2 * np.pi * np.arange(sides) / sides
        self.polygon([(cx + r * np.cos(a) * self.h / self.w, cy + r * np.sin(a)) for a in angles], fill)

    def polygon(self, points: Sequence[tuple[float, float]], fill: RGB) -> None:
        self.draw.polygon([self._xy(x, y) for x, y in points], fill=fill)

    def line(self, points: Sequence[tuple[float, float]], fill: RGB, width: float) -> None:
        self.draw.line([self._xy(x, y) for x, y in points], fill=fill, width=max(1, round(width * self.h)))


# ---------------------------------------------------------------- the 18 objects
# Each drawer gets a Sketch sized by the object's aspect ratio, its (jittered) colours and the rng.

def _person(s: Sketch, c: list[RGB], rng: np.random.Generator) -> None:
    s.rrect(0.12, 0.30, 0.88, 1.0, c[0], radius=0.5)
    s.line([(0.5, 0.72), (0.5, 1.0)], c[2], 0.04)  # the legs' gap
    s.circle(0.5, 0.15, 0.14, c[1])


def _bicycle(s: Sketch, c: list[RGB], rng: np.random.Generator) -> None:
    for cx in (0.22, 0.78):
        s.circle(cx, 0.68, 0.30, None, outline=c[1], width=0.07)
    s.line([(0.22, 0.68), (0.42, 0.35), (0.72, 0.35), (0.78, 0.68)], c[0], 0.08)
    s.line([(0.42, 0.35), (0.52, 0.68), (0.72, 0.35)], c[0], 0.08)
    s.line([(0.38, 0.22), (0.48, 0.22)], c[1], 0.08)  # saddle


def _car(s: Sketch, c: list[RGB], rng: np.random.Generator) -> None:
    s.rrect(0.25, 0.05, 0.75, 0.55, c[0], radius=0.35)
    s.rrect(0.32, 0.14, 0.68, 0.45, c[1], radius=0.2)  # windows
    s.rrect(0.0, 0.35, 1.0, 0.85, c[0], radius=0.35)
    for cx in (0.22, 0.78):
        s.circle(cx, 0.82, 0.17, c[2])


def _motorcycle(s: Sketch, c: list[RGB], rng: np.random.Generator) -> None:
    for cx in (0.2, 0.8):
        s.circle(cx, 0.7, 0.28, c[2])
        s.circle(cx, 0.7, 0.1, c[1])
    s.polygon([(0.28, 0.45), (0.72, 0.38), (0.62, 0.66), (0.35, 0.66)], c[0])
    s.line([(0.72, 0.38), (0.8, 0.08)], c[1], 0.07)  # handlebar fork


def _airplane(s: Sketch, c: list[RGB], rng: np.random.Generator) -> None:
    s.polygon([(0.38, 0.45), (0.62, 0.45), (0.38, 0.98), (0.26, 0.98)], c[1])  # wing
    s.ellipse(0.0, 0.36, 1.0, 0.6, c[0])
    s.polygon([(0.02, 0.45), (0.14, 0.45), (0.06, 0.05), (0.0, 0.05)], c[0])  # tail fin
    s.line([(0.3, 0.45), (0.85, 0.45)], c[2], 0.04)  # window row


def _bus(s: Sketch, c: list[RGB], rng: np.random.Generator) -> None:
    s.rrect(0.0, 0.0, 1.0, 0.85, c[0], radius=0.12)
    for i in range(6):
        x = 0.05 + i * 0.155
        s.rect(x, 0.12, x + 0.11, 0.42, c[1])
    for cx in (0.18, 0.82):
        s.circle(cx, 0.85, 0.14, c[2])


def _train(s: Sketch, c: list[RGB], rng: np.random.Generator) -> None:
    s.line([(0.0, 0.95), (1.0, 0.95)], c[2], 0.06)  # rail
    for k in range(3):
        x = k * 0.34
        s.rrect(x, 0.08, x + 0.31, 0.88, c[0], radius=0.15 if k else 0.45)
        s.rect(x + 0.06, 0.22, x + 0.25, 0.45, c[1])
        s.line([(x + 0.31, 0.7), (x + 0.34, 0.7)], c[2], 0.06)  # coupling


def _truck(s: Sketch, c: list[RGB], rng: np.random.Generator) -> None:
    s.rect(0.0, 0.0, 0.66, 0.78, c[1])  # cargo box
    s.rrect(0.68, 0.25, 1.0, 0.78, c[0], radius=0.2)  # cab
    s.rect(0.78, 0.33, 0.95, 0.5, c[2])
    for cx in (0.14, 0.5, 0.86):
        s.circle(cx, 0.82, 0.15, c[2])


def _boat(s: Sketch, c: list[RGB], rng: np.random.Generator) -> None:
    s.polygon([(0.0, 0.62), (1.0, 0.62), (0.82, 0.95), (0.14, 0.95)], c[0])  # hull
    s.line([(0.5, 0.62), (0.5, 0.02)], c[2], 0.03)  # mast
    s.polygon([(0.53, 0.05), (0.53, 0.57), (0.92, 0.57)], c[1])  # sail
    s.polygon([(0.47, 0.15), (0.47, 0.57), (0.18, 0.57)], c[1])


def _traffic_light(s: Sketch, c: list[RGB], rng: np.random.Generator) -> None:
    s.rrect(0.05, 0.0, 0.95, 0.72, c[0], radius=0.25)
    s.rect(0.4, 0.72, 0.6, 1.0, c[0])  # pole
    lit = rng.integers(3)
    for k, lamp in enumerate([(230, 40, 30), (240, 200, 30), (40, 210, 80)]):
        shade = lamp if k == lit else tuple(v // 3 for v in lamp)
        s.circle(0.5, 0.13 + 0.23 * k, 0.09, shade)


def _fire_hydrant(s: Sketch, c: list[RGB], rng: np.random.Generator) -> None:
    s.ellipse(0.2, 0.02, 0.8, 0.32, c[1])  # cap
    s.rect(0.22, 0.18, 0.78, 0.92, c[0])
    s.rect(0.0, 0.42, 1.0, 0.58, c[0])  # side nozzles
    s.circle(0.5, 0.5, 0.08, c[1])
    s.rect(0.12, 0.9, 0.88, 1.0, c[1])  # base


def _stop_sign(s: Sketch, c: list[RGB], rng: np.random.Generator) -> None:
    s.rect(0.46, 0.6, 0.54, 1.0, c[2])  # pole
    s.regular_polygon(0.5, 0.31, 0.31, 8, c[1], turn=np.pi / 8)
    s.regular_polygon(0.5, 0.31, 0.27, 8, c[0], turn=np.pi / 8)
    s.rect(0.3, 0.3, 0.7, 0.37, c[1])  # the white lettering


def _parking_meter(s: Sketch, c: list[RGB], rng: np.random.Generator) -> None:
    s.rect(0.4, 0.45, 0.6, 1.0, c[2])  # post
    s.rrect(0.1, 0.0, 0.9, 0.5, c[0], radius=0.5)
    s.rect(0.25, 0.12, 0.75, 0.3, c[1])  # display window


def _bench(s: Sketch, c: list[RGB], rng: np.random.Generator) -> None:
    for y in (0.05, 0.2, 0.35, 0.55):  # back rest and seat slats
        s.rect(0.0, y, 1.0, y + 0.09, c[0])
    for x in (0.08, 0.86):
        s.rect(x, 0.0, x + 0.06, 1.0, c[2])  # legs / frame


def _bird(s: Sketch, c: list[RGB], rng: np.random.Generator) -> None:
    s.polygon([(0.05, 0.45), (0.0, 0.75), (0.3, 0.55)], c[0])  # tail
    s.ellipse(0.15, 0.3, 0.75, 0.8, c[0])
    s.circle(0.78, 0.3, 0.2, c[0])
    s.polygon([(0.9, 0.25), (1.0, 0.33), (0.9, 0.38)], c[1])  # beak
    s.polygon([(0.3, 0.45), (0.6, 0.45), (0.4, 0.05)], c[2])  # wing


def _cat(s: Sketch, c: list[RGB], rng: np.random.Generator) -> None:
    s.line([(0.1, 0.7), (0.02, 0.3)], c[0], 0.08)  # tail up
    s.ellipse(0.08, 0.45, 0.75, 0.95, c[0])
    s.circle(0.75, 0.42, 0.22, c[0])
    s.polygon([(0.6, 0.3), (0.64, 0.02), (0.74, 0.25)], c[0])  # pointed ears
    s.polygon([(0.78, 0.25), (0.88, 0.02), (0.92, 0.3)], c[0])
    s.circle(0.82, 0.38, 0.03, c[1])


def _dog(s: Sketch, c: list[RGB], rng: np.random.Generator) -> None:
    s.line([(0.1, 0.45), (0.0, 0.3)], c[0], 0.08)  # tail
    for x in (0.15, 0.58):
        s.rect(x, 0.6, x + 0.1, 1.0, c[0])  # legs
    s.ellipse(0.05, 0.35, 0.78, 0.78, c[0])
    s.ellipse(0.62, 0.05, 1.0, 0.45, c[0])  # head
    s.ellipse(0.6, 0.1, 0.74, 0.5, c[2])  # floppy ear
    s.circle(0.97, 0.25, 0.05, c[1])  # nose


def _horse(s: Sketch, c: list[RGB], rng: np.random.Generator) -> None:
    for x in (0.15, 0.27, 0.58, 0.7):
        s.rect(x, 0.55, x + 0.07, 1.0, c[0])  # four thin legs
    s.ellipse(0.08, 0.3, 0.8, 0.68, c[0])
    s.polygon([(0.62, 0.4), (0.76, 0.05), (0.86, 0.08), (0.8, 0.45)], c[0])  # neck
    s.polygon([(0.76, 0.05), (1.0, 0.2), (0.95, 0.28), (0.78, 0.18)], c[0])  # head
    s.line([(0.74, 0.05), (0.62, 0.38)], c[2], 0.05)  # mane
    s.line([(0.1, 0.38), (0.02, 0.7)], c[2], 0.06)  # tail


ShapeDrawer = Callable[[Sketch, list[RGB], np.random.Generator], None]


class ObjectStyle:
    """How one label looks: drawer, width / height ratio, colours (main, second, dark) and texture."""

    def __init__(self, drawer: ShapeDrawer, aspect: float, colours: Sequence[RGB], texture: str = "plain") -> None:
        self.drawer, self.aspect, self.colours, self.texture = drawer, aspect, list(colours), texture


DARK: RGB = (25, 25, 28)
STYLES: dict[int, ObjectStyle] = {
    1: ObjectStyle(_person, 0.42, [(45, 80, 200), (235, 190, 150), DARK]),
    2: ObjectStyle(_bicycle, 1.6, [(30, 170, 70), DARK, DARK]),
    3: ObjectStyle(_car, 1.9, [(20, 160, 170), (190, 230, 250), DARK]),
    4: ObjectStyle(_motorcycle, 1.5, [(140, 50, 170), (190, 190, 200), DARK], "stripes"),
    5: ObjectStyle(_airplane, 2.0, [(235, 235, 240), (150, 160, 175), (40, 60, 110)]),
    6: ObjectStyle(_bus, 2.3, [(245, 200, 30), (60, 80, 100), DARK]),
    7: ObjectStyle(_train, 3.0, [(20, 110, 75), (200, 210, 200), DARK], "checker"),
    8: ObjectStyle(_truck, 1.8, [(175, 40, 35), (225, 220, 205), DARK]),
    9: ObjectStyle(_boat, 1.2, [(25, 40, 125), (245, 245, 240), (120, 80, 40)]),
    10: ObjectStyle(_traffic_light, 0.4, [(30, 30, 35), DARK, DARK]),
    11: ObjectStyle(_fire_hydrant, 0.6, [(225, 45, 145), (200, 200, 210), DARK]),
    13: ObjectStyle(_stop_sign, 0.62, [(215, 20, 25), (250, 250, 250), (110, 110, 115)]),
    14: ObjectStyle(_parking_meter, 0.38, [(150, 160, 170), (230, 220, 90), (70, 70, 75)], "checker"),
    15: ObjectStyle(_bench, 1.8, [(150, 95, 45), DARK, (60, 60, 60)], "stripes"),
    16: ObjectStyle(_bird, 1.3, [(80, 175, 235), (250, 150, 30), (40, 90, 160)]),
    17: ObjectStyle(_cat, 1.3, [(235, 150, 55), (30, 120, 40), (120, 60, 20)], "stripes"),
    18: ObjectStyle(_dog, 1.4, [(205, 175, 125), DARK, (110, 70, 40)], "spots"),
    19: ObjectStyle(_horse, 1.35, [(115, 60, 28), DARK, (30, 20, 15)]),
}


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
