"""A tiny COMP5329-style caption data set and its run, shared by the text-encoding and text-report tests."""
from __future__ import annotations

from pathlib import Path

from PIL import Image

from helpers import text

BUNDLED = text.bundled_stopwords()


STOP = text.StopWords(frozenset(BUNDLED), "bundled copy (test)")


TRAIN = [
    ("A man riding a horse on the beach.", "1 19"), ("Two dogs play with a frisbee", "18"),
    ("A red car parked next to a bus", "3 6"), ("A cat sleeping on a bench!", "17 15"),
    ("People waiting for the train", "1 7"), ("A boat on the lake", "9"),
    ("A bird sitting on a fire hydrant", "16 11"), ("A truck and a car at the traffic light", "8 3 10"),
    ("A woman on a bicycle", "1 2"), ("An airplane flying over the city", "5"),
    ("A motorcycle parked by a stop sign", "4 13"), ("A parking meter on the street", "14"),
    ("1234 !!!", "1"), ("A man walking his dog", "1 18"), ("A horse in a field", "19"),
    ("Cars and buses on a busy road", "3 6"),
]


TEST = ["A dog on a couch", "A zebra near a tree", "Planes at the airport"]


def write_tiny_data(folder: Path, train=TRAIN, test=TEST) -> Path:
    """A COMP5329-style data folder: train.csv, test.csv and tiny JPEGs in data/."""
    (folder / "data").mkdir(parents=True)
    lines = ["ImageID,Labels,Caption"] + [f'{i}.jpg,{labels},"{cap}"' for i, (cap, labels) in enumerate(train)]
    (folder / "train.csv").write_text("\n".join(lines) + "\n")
    n = len(train)
    (folder / "test.csv").write_text("\n".join(["ImageID,Caption"] + [f'{n + i}.jpg,"{c}"' for i, c in
                                                                          enumerate(test)]) + "\n")
    for i in range(n + len(test)):
        Image.new("RGB", (8, 8), (i * 10 % 255, 80, 120)).save(folder / "data" / f"{i}.jpg")
    return folder
