"""A small RGBA canvas drawn in relative coordinates, on which the demo objects are sketched."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

RGB = tuple[int, int, int]


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
