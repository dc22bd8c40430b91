"""The 18 demo objects: one silhouette, colour scheme and texture per label.

Person = blue capsule with a head, car = wide teal body with wheels, stop sign = red octagon, ...
Each drawer gets a Sketch sized by the object's aspect ratio, its (jittered) colours and the rng.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from helpers.demo.sketch import RGB, Sketch


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
