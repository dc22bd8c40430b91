"""The built-in demo data set: synthetic images + captions in the exact COMP5329 file format.

Why: every notebook and test must run without the real (non-redistributable) data, and the demo set
should behave like it, so that label imbalance, co-occurrence and "the caption often does not name
the object" show up in the demo results as they would on the real set.

Design, in the order the generator works:

1. Label sets (`sample_label_sets`): the number of labels per row is fixed first, by exact rounding of
   the real labels-per-row histogram. Each row then gets labels drawn one after the other, weighted
   by the real frequencies times the real co-occurrence lift with the labels already chosen. A few
   sweeps of greedy swaps (replace one label of a row by another when it lowers the squared relative
   error of the 18 x 18 co-occurrence matrix, whose diagonal holds the label counts) then bring
   label counts and co-occurrences to the real figures scaled by n / 30,000.
2. Captions (`make_caption`): every label is named with its real mention rate when present and when
   absent (`caption_mentions` in dataset_facts.json), through synonyms (man, people, bike, jet,
   puppy...), in templates such as "A man riding a horse in a grassy field." The lengths are the
   real word-count histogram, exactly rounded, and filled with scene words that name no label.
   Then the real CSV quirks are added: inner quotes left unescaped, commas, slashes, a few embedded
   newlines and captions ending with a slash.
3. Images (helpers.demo.shapes): one cartoon object per label instance on a cluttered background,
   drawn in a process pool with one seed per image, so the output does not depend on `workers`.
4. Files are written atomically; the manifest demo_data.json is written last: a folder without it
   is an interrupted generation.

Command line: python -m helpers.demo.generator --out DIR --n-train N --n-test M --seed S
"""
from __future__ import annotations

import argparse
import os
import random
import re
import time
from collections.abc import Sequence
from functools import lru_cache
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np

from helpers.core.atomic_io import atomic_path, read_json, write_json, write_text
from helpers.core.config import FACTS_FILE, IMAGES_SUBDIR, TEST_CSV, TEST_LABELS_CSV, TRAIN_CSV
from helpers.core.labels import LABEL_IDS, N_LABELS

GENERATOR_VERSION = 1
MANIFEST = "demo_data.json"
REAL_ROWS = 30000  # the real statistics are counts over 30,000 training rows
JPEG_QUALITY = 88
SWAP_SWEEPS = 20  # greedy swap proposals per row when fitting the label sets
ERROR_FLOOR = 100  # co-occurrence entries below this (at 30,000 rows) are fitted in absolute terms
DIAGONAL_WEIGHT = 20.0  # label counts matter most; small sets cannot match every tiny co-occurrence
# Per 30,000 captions, as in the real train.csv; at least one each from 1,000 rows on.
NEWLINES_PER_30000 = 4
TRAILING_SLASHES_PER_30000 = 4
INNER_QUOTE_RATE = 0.004
SLASH_RATE = 0.004
COMMA_RATE = 0.05


@lru_cache(maxsize=1)
def load_facts() -> dict[str, Any]:
    """The real data set's statistics (helpers/resources/dataset_facts.json)."""
    return read_json(FACTS_FILE)


def _derived_seed(seed: int, *keys: int) -> int:
    """A 63-bit seed for one purpose (train labels, test captions, image 123...) of one run."""
    return int(np.random.SeedSequence([seed, *keys]).generate_state(2, np.uint32).view(np.uint64)[0] >> 1)


# ====================================================================== label sets

def _exact_counts(weights: Sequence[float], n: int, rng: np.random.Generator) -> np.ndarray:
    """Split n into integer counts proportional to weights (largest remainder, random ties)."""
    raw = np.asarray(weights, float) / np.sum(weights) * n
    counts = np.floor(raw).astype(int)
    order = np.lexsort((rng.random(len(raw)), -(raw - counts)))
    counts[order[: n - counts.sum()]] += 1
    return counts


def _target_cooccurrence(n: int) -> np.ndarray:
    return np.asarray(load_facts()["cooccurrence_counts"], float) * n / REAL_ROWS


def _labels_per_row(n: int, rng: np.random.Generator) -> np.ndarray:
    hist = {int(k): v for k, v in load_facts()["labels_per_example"].items()}
    sizes = sorted(hist)
    ks = np.repeat(sizes, _exact_counts([hist[k] for k in sizes], n, rng))
    rng.shuffle(ks)
    return ks


def _initial_label_sets(ks: np.ndarray, rng: np.random.Generator) -> list[list[int]]:
    """Draw each row's labels one by one: frequency times co-occurrence lift with those chosen."""
    real = np.asarray(load_facts()["cooccurrence_counts"], float)
    freq = real.diagonal() / real.diagonal().sum()
    lift = (real + 0.5) / (np.outer(real.diagonal(), real.diagonal()) / REAL_ROWS)
    np.fill_diagonal(lift, 0.0)  # never the same label twice
    rows: list[list[int]] = [[] for _ in ks]
    for k in np.unique(ks):
        members = np.flatnonzero(ks == k)
        weights = np.tile(freq, (len(members), 1))
        for _ in range(k):
            cumulative = np.cumsum(weights, axis=1)
            u = rng.random(len(members)) * cumulative[:, -1]
            picks = (cumulative <= u[:, None]).sum(axis=1)  # a zero weight is never picked
            for row, col in zip(members, picks, strict=True):
                rows[row].append(int(col))
            weights = weights * lift[picks]
    return rows


def _refine_label_sets(rows: list[list[int]], target: np.ndarray, rng: random.Random, sweeps: int) -> None:
    """Greedy swaps (one label of a row for another) that lower the weighted squared error, in place.

    The error of an entry is (count - target) / max(target, floor): relative for large entries,
    absolute (in units of the floor) for small ones; label counts (the diagonal) weigh more.
    Rows keep their number of labels.
    """
    floor = max(ERROR_FLOOR * len(rows) / REAL_ROWS, 3.0)
    current = np.zeros((N_LABELS, N_LABELS))
    for row in rows:
        current[np.ix_(row, row)] += 1
    err = (current - target).tolist()
    weight_matrix = 1.0 / np.maximum(target, floor) ** 2
    weight_matrix[np.diag_indices(N_LABELS)] *= DIAGONAL_WEIGHT
    weight = weight_matrix.tolist()
    n = len(rows)
    for _ in range(sweeps * n):
        row = rows[rng.randrange(n)]
        a = row[rng.randrange(len(row))]
        b = rng.randrange(N_LABELS)
        if b in row:
            continue
        ea, eb, wa, wb = err[a], err[b], weight[a], weight[b]
        # Change of sum(w * e^2) when entry e moves by -1 (row a) or +1 (row b).
        delta = wa[a] * (1 - 2 * ea[a]) + wb[b] * (1 + 2 * eb[b])
        for j in row:
            if j != a:
                delta += wa[j] * (1 - 2 * ea[j]) + wb[j] * (1 + 2 * eb[j])
        if delta >= 0:
            continue
        ea[a] -= 1
        eb[b] += 1
        for j in row:
            if j != a:
                ea[j] -= 1
                err[j][a] -= 1
                eb[j] += 1
                err[j][b] += 1
        row[row.index(a)] = b


def sample_label_sets(n: int, seed: int = 0, sweeps: int = SWAP_SWEEPS) -> list[list[int]]:
    """n label sets (label ids, ascending) matching the real label counts, labels per row and co-occurrence."""
    if n <= 0:
        return []
    rng = np.random.default_rng(seed)
    rows = _initial_label_sets(_labels_per_row(n, rng), rng)
    _refine_label_sets(rows, _target_cooccurrence(n), random.Random(seed), sweeps)
    return [sorted(LABEL_IDS[col] for col in row) for row in rows]


# ====================================================================== caption vocabulary
# Nouns as (singular, plural); the first one is the most common name. Every form is a "mention".
NOUNS: dict[int, list[tuple[str, str]]] = {
    1: [("man", "men"), ("woman", "women"), ("person", "people"), ("guy", "guys"), ("boy", "boys"),
        ("girl", "girls"), ("child", "children"), ("lady", "ladies"), ("skier", "skiers"),
        ("surfer", "surfers"), ("skateboarder", "skateboarders"), ("tennis player", "tennis players")],
    2: [("bike", "bikes"), ("bicycle", "bicycles")],
    3: [("car", "cars"), ("taxi", "taxis"), ("sedan", "sedans")],
    4: [("motorcycle", "motorcycles"), ("motorbike", "motorbikes"), ("scooter", "scooters")],
    5: [("airplane", "airplanes"), ("plane", "planes"), ("jet", "jets"), ("airliner", "airliners")],
    6: [("bus", "buses"), ("double decker bus", "double decker buses"), ("city bus", "city buses")],
    7: [("train", "trains"), ("locomotive", "locomotives"), ("passenger train", "passenger trains")],
    8: [("truck", "trucks"), ("pickup truck", "pickup trucks"), ("fire truck", "fire trucks")],
    9: [("boat", "boats"), ("sailboat", "sailboats"), ("ship", "ships"), ("canoe", "canoes")],
    10: [("traffic light", "traffic lights"), ("stoplight", "stoplights"), ("traffic signal", "traffic signals")],
    11: [("fire hydrant", "fire hydrants"), ("hydrant", "hydrants")],
    13: [("stop sign", "stop signs")],
    14: [("parking meter", "parking meters")],
    15: [("bench", "benches"), ("park bench", "park benches")],
    16: [("bird", "birds"), ("pigeon", "pigeons"), ("seagull", "seagulls"), ("duck", "ducks")],
    17: [("cat", "cats"), ("kitten", "kittens"), ("kitty", "kitties")],
    18: [("dog", "dogs"), ("puppy", "puppies")],
    19: [("horse", "horses"), ("pony", "ponies")],
}
ADJECTIVES: dict[int, list[str]] = {
    1: ["young", "old", "smiling", "tall"],
    2: ["red", "old", "blue", "parked"],
    3: ["red", "white", "black", "small", "silver"],
    4: ["red", "black", "parked", "shiny"],
    5: ["large", "white", "commercial", "passenger"],
    6: ["red", "yellow", "blue", "public"],
    7: ["long", "old", "blue", "freight"],
    8: ["white", "large", "red", "delivery"],
    9: ["small", "white", "wooden", "fishing"],
    10: ["red", "green", "hanging"],
    11: ["yellow", "red", "old", "rusty"],
    13: ["red", "bent", "large"],
    14: ["old", "broken", "metal"],
    15: ["wooden", "empty", "metal", "green"],
    16: ["small", "white", "black", "little"],
    17: ["black", "orange", "gray", "fluffy"],
    18: ["brown", "black", "white", "small", "big"],
    19: ["brown", "white", "black", "tall"],
}
GENERAL_ADJECTIVES = ["small", "large", "big", "little", "white", "black", "old", "brown"]
SIZE_ADJECTIVES = {"small", "large", "big", "little", "tall", "long"}
COLOUR_ADJECTIVES = {"red", "white", "black", "blue", "yellow", "green", "brown", "gray", "orange", "silver"}
AGE_ADJECTIVES = {"young", "old"}


def _adjective_kind(adjective: str) -> str:
    """Size, colour, age or the adjective itself: a noun phrase takes one adjective of each kind."""
    for kind, words in (("size", SIZE_ADJECTIVES), ("colour", COLOUR_ADJECTIVES), ("age", AGE_ADJECTIVES)):
        if adjective in words:
            return kind
    return adjective
PREDICATES: dict[int, list[str]] = {
    1: ["standing", "walking", "sitting", "posing for a picture", "waiting", "looking at the camera"],
    2: ["parked", "leaning against a wall", "locked to a pole"],
    3: ["parked", "driving", "stopped"],
    4: ["parked", "driving fast"],
    5: ["flying", "parked", "taking off", "sitting on the runway"],
    6: ["driving", "parked", "stopped"],
    7: ["traveling", "pulling into the station", "stopped", "going down the tracks"],
    8: ["parked", "driving"],
    9: ["floating", "docked", "sailing"],
    10: ["hanging", "showing red"],
    11: ["standing", "sitting"],
    13: ["standing", "mounted on a pole"],
    14: ["standing", "lined up"],
    15: ["sitting", "standing empty"],
    16: ["perched", "flying", "standing"],
    17: ["sleeping", "sitting", "laying", "curled up"],
    18: ["running", "sitting", "laying", "playing"],
    19: ["grazing", "standing", "running"],
}
# What a person does with another object: "A man riding a horse".
INTERACTIONS: dict[int, list[str]] = {
    2: ["riding", "pushing"], 4: ["riding", "sitting on"], 5: ["boarding", "looking at"],
    6: ["waiting for", "getting off"], 7: ["waiting for", "boarding"], 8: ["driving", "loading"],
    9: ["rowing", "sitting in"], 3: ["driving", "getting into"], 15: ["sitting on", "resting on"],
    16: ["feeding", "watching"], 17: ["holding", "petting"], 18: ["walking", "playing with"],
    19: ["riding", "leading"],
}
DEFAULT_INTERACTIONS = ["standing next to", "looking at", "walking past"]
PLACES: dict[int, list[str]] = {
    5: ["in the sky", "at the airport", "on the runway"],
    7: ["on the tracks", "at the station"],
    9: ["on the water", "in the harbor", "on a lake"],
    16: ["on a branch", "in the water", "on the beach"],
    17: ["on a couch", "on a bed", "on the floor", "in a window"],
    18: ["on a couch", "in the grass", "on the beach", "in the yard"],
    19: ["in a field", "in a grassy field", "in a pasture"],
}
STREET_PLACES = ["on a city street", "on the street", "on the side of the road", "in a parking lot",
                 "at an intersection", "near a building", "on a sidewalk", "next to the road",
                 "in front of a store", "in the city"]
# Captions that name no label: "A view of a busy intersection with tall buildings."
SCENES = ["a city street", "a busy intersection", "an empty road", "a large building", "a clock tower",
          "a street sign", "a kitchen", "a living room", "a plate of food", "a grassy field", "a sandy beach",
          "a snowy hill", "a tennis court", "a small harbor", "a row of houses", "a large clock",
          "an old church", "a red kite", "a brick building", "a narrow alley", "a view of a city street",
          "a view of a busy intersection", "a picture of a street corner", "a large open field"]
SCENE_TAILS = ["with tall buildings", "with a large window", "with a lot of trees", "covered in snow",
               "with a clock on it", "with many signs", "full of colorful flags", "with a tall tower",
               "with a wooden fence"]
EXTRAS = [
    "outside", "together", "nearby", "today", "at night", "at dusk", "in winter", "in the rain",
    "on a sunny day", "in the afternoon", "under a cloudy sky", "in the early morning",
    "with trees in the background", "in front of a tall building", "near some tall buildings",
    "along the side of the road", "next to a brick wall", "with mountains in the background",
    "under a clear blue sky", "in the middle of the day", "on a cold and snowy day",
    "near a row of trees and some houses", "in front of a large white building with windows",
    "while the sun sets behind the hills", "in an area with a lot of green trees and grass",
]
QUOTED_EXTRAS = ['with "caution" tape around it', 'under a sign that says "welcome"',
                 'next to a "no parking" sign', 'with the word "love" painted on it',
                 'in front of a "closed" sign']
SLASHED_EXTRAS = ["in black/white", "on a rainy/cloudy day", "at the north/south corner",
                  "near a w/e entrance"]
QUANTIFIERS = [["two"], ["three"], ["some"], ["several"], ["a", "group", "of"], ["a", "couple", "of"], ["many"]]


def _mention_pattern(label: int) -> re.Pattern[str]:
    forms = sorted({form for pair in NOUNS[label] for form in pair}, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(f) for f in forms) + r")\b", re.IGNORECASE)


MENTION_PATTERNS: dict[int, re.Pattern[str]] = {label: _mention_pattern(label) for label in LABEL_IDS}


def mentioned_labels(caption: str) -> set[int]:
    """Labels whose name or synonym appears in a caption (how the mention rates are measured)."""
    return {label for label, pattern in MENTION_PATTERNS.items() if pattern.search(caption)}


# ====================================================================== captions

class _NounPhrase:
    """Quantifier + adjectives + noun; adjectives can be added later to lengthen the caption."""

    def __init__(self, label: int, rng: random.Random, plural_rate: float) -> None:
        self.label = label
        singular, plural = rng.choice(NOUNS[label][:1] * 2 + NOUNS[label])  # the usual name twice as often
        self.plural = rng.random() < plural_rate
        self.quantifier = rng.choice(QUANTIFIERS) if self.plural else [rng.choice(["a", "a", "a", "the"])]
        self.noun = (plural if self.plural else singular).split()
        self.adjectives: list[str] = []

    def add_adjective(self, rng: random.Random) -> bool:
        if len(self.adjectives) >= 2:
            return False
        general = GENERAL_ADJECTIVES if self.label != 1 else []
        taken = {_adjective_kind(a) for a in self.adjectives}  # no "white gray cat", no "young old man"
        options = [a for a in ADJECTIVES[self.label] + general if _adjective_kind(a) not in taken]
        if not options:
            return False
        adjective = rng.choice(options)
        if adjective in SIZE_ADJECTIVES:  # "a big black dog", not "a black big dog"
            self.adjectives.insert(0, adjective)
        else:
            self.adjectives.append(adjective)
        return True

    def words(self) -> list[str]:
        words = self.quantifier + self.adjectives + self.noun
        if words[0] == "a" and words[1][0] in "aeiou":
            words = ["an", *words[1:]]
        return words


def _choose_mentions(labels: Sequence[int], rng: random.Random) -> list[int]:
    """Labels this caption names: each with its real rate when present / when absent; people first."""
    rates = load_facts()["caption_mentions"]
    present = set(labels)
    chosen = [label for label in LABEL_IDS
              if rng.random() < rates[str(label)]["mention_rate_when_present" if label in present
                                                  else "mention_rate_when_absent"]]
    rng.shuffle(chosen)
    chosen.sort(key=lambda label: label != 1)
    return chosen


class _CaptionPlan:
    """The fixed core of a caption plus what can be added to it to reach a target length."""

    def __init__(self, labels: Sequence[int], rng: random.Random) -> None:
        mentions = _choose_mentions(labels, rng)
        self.phrases = [_NounPhrase(label, rng, 0.45 if label == 1 else 0.12) for label in mentions]
        self.core: list[Any] = []  # words (str) and noun phrases
        self.places = list(STREET_PLACES)
        if not mentions:
            scene = rng.choice(SCENES).split()
            self.core = [*scene]
        elif len(mentions) >= 2 and mentions[0] == 1 and rng.random() < 0.7:
            person, other, *rest = self.phrases
            verb = rng.choice(INTERACTIONS.get(other.label, DEFAULT_INTERACTIONS)).split()
            self.core = [person, *verb, other]
            if rest:
                self.core += [rng.choice(["with", "next to", "near"]), *self._joined(rest)]
            self.places = PLACES.get(other.label, []) + STREET_PLACES
        else:
            head = self.phrases[0]
            self.core = self._joined(self.phrases)
            if rng.random() < 0.8:
                self.core += rng.choice(PREDICATES[head.label]).split()
            self.places = PLACES.get(head.label, []) + STREET_PLACES
        self.scene_only = not mentions

    @staticmethod
    def _joined(phrases: list[_NounPhrase]) -> list[Any]:
        """'a dog, a cat and a bird'."""
        out: list[Any] = []
        for i, phrase in enumerate(phrases):
            if i:
                out.append("and" if i == len(phrases) - 1 else ",")  # "," is glued to the word before
            out.append(phrase)
        return out

    def length(self) -> int:
        return sum(len(p.words()) if isinstance(p, _NounPhrase) else (p != ",") for p in self.core)

    def render(self, target: int, rng: random.Random) -> str:
        """Grow the core with a place, extra phrases and adjectives until it has `target` words."""
        tail: list[str] = []

        def remaining() -> int:
            return target - self.length() - len(tail)

        scene_tails = [t for t in SCENE_TAILS if len(t.split()) <= remaining()]
        if self.scene_only and scene_tails and rng.random() < 0.7:
            tail += rng.choice(scene_tails).split()
        special = [QUOTED_EXTRAS] * (rng.random() < INNER_QUOTE_RATE) + [SLASHED_EXTRAS] * (rng.random() < SLASH_RATE)
        for options in special:
            phrase = rng.choice(options).split()
            if len(phrase) <= remaining():
                tail += phrase
        places = [p for p in self.places if len(p.split()) <= remaining()]
        if places and rng.random() < 0.85:
            tail += rng.choice(places).split()
        used: set[str] = set()
        while remaining() > 0:
            if remaining() <= 2 and self.phrases and rng.random() < 0.7:
                if rng.choice(self.phrases).add_adjective(rng):
                    continue
            room = remaining()
            if tail and room >= 3 and rng.random() < 0.12:
                tail.append("and")
                room -= 1
            elif tail and rng.random() < COMMA_RATE:
                tail[-1] += ","
            fitting = [e for e in EXTRAS if len(e.split()) <= room and (room == 1 or " " in e)]
            fresh = [e for e in fitting if e not in used]
            extra = rng.choice(fresh or fitting)
            used.add(extra)
            tail += extra.split()
        words: list[str] = []
        for part in self.core:
            if part == ",":
                words[-1] += ","
            elif isinstance(part, _NounPhrase):
                words += part.words()
            else:
                words.append(part)
        return _finish(words + tail, rng)


def _finish(words: list[str], rng: random.Random) -> str:
    """Capitalise and punctuate like COCO captions: mostly 'A man ....', sometimes no period."""
    text = " ".join(words)
    if rng.random() < 0.93:
        text = text[0].upper() + text[1:]
    if rng.random() < 0.85:
        text += "."
    return text


def _caption_lengths(n: int, rng: np.random.Generator) -> np.ndarray:
    """n word counts with exactly the real histogram's proportions, in random order."""
    hist = {int(k): v for k, v in load_facts()["caption_word_counts"].items()}
    sizes = sorted(hist)
    lengths = np.repeat(sizes, _exact_counts([hist[k] for k in sizes], n, rng))
    rng.shuffle(lengths)
    return lengths


def _fit_lengths(lengths: list[int], needed: list[int], rng: random.Random) -> None:
    """Swap lengths between rows so that each row gets at least its core's length; keeps the histogram."""
    n = len(lengths)
    for i in range(n):
        if lengths[i] >= needed[i]:
            continue
        for _ in range(500):
            j = rng.randrange(n)
            if lengths[j] >= needed[i] and lengths[i] >= needed[j]:
                lengths[i], lengths[j] = lengths[j], lengths[i]
                break


def quirk_count(n_rows: int, per_30000: int) -> int:
    """How many captions get a rare quirk: the real rate, but at least one from 1,000 rows on."""
    return max(round(per_30000 * n_rows / REAL_ROWS), 1 if n_rows >= 1000 else 0)


def _add_rare_quirks(captions: list[str], rng: random.Random) -> None:
    """Embedded newlines and a slash before the closing quote, in place, on distinct captions."""
    plain = [i for i, c in enumerate(captions) if '"' not in c and len(c.split()) > 2]
    n_newlines = quirk_count(len(captions), NEWLINES_PER_30000)
    n_slashes = quirk_count(len(captions), TRAILING_SLASHES_PER_30000)
    chosen = rng.sample(plain, min(len(plain), n_newlines + n_slashes))
    for i in chosen[:n_newlines]:
        words = captions[i].split(" ")
        cut = rng.randrange(1, len(words))
        captions[i] = " ".join(words[:cut]) + "\n" + " ".join(words[cut:])
    for i in chosen[n_newlines:]:
        captions[i] = captions[i].rstrip(".") + "/"


def make_captions(label_sets: Sequence[Sequence[int]], seed: int = 0) -> list[str]:
    """One caption per label set, with the real length histogram, mention rates and CSV quirks."""
    rng = random.Random(seed)
    plans = [_CaptionPlan(labels, rng) for labels in label_sets]
    lengths = _caption_lengths(len(plans), np.random.default_rng(seed)).tolist()
    _fit_lengths(lengths, [plan.length() for plan in plans], rng)
    captions = [plan.render(length, rng) for plan, length in zip(plans, lengths, strict=True)]
    _add_rare_quirks(captions, rng)
    return captions


# ====================================================================== files

def _caption_rows(image_ids: Sequence[str], captions: Sequence[str], label_sets: Sequence[Sequence[int]] | None) -> str:
    """CSV text written by hand: every caption in double quotes, inner quotes left as they are."""
    if label_sets is None:
        lines = ["ImageID,Caption", *(f'{i},"{c}"' for i, c in zip(image_ids, captions, strict=True))]
    else:
        lines = ["ImageID,Labels,Caption",
                 *(f'{i},{_label_field(s)},"{c}"' for i, s, c in zip(image_ids, label_sets, captions, strict=True))]
    return "\n".join(lines) + "\n"


def _label_field(labels: Sequence[int]) -> str:
    return " ".join(str(label) for label in sorted(labels))


def _labels_csv(image_ids: Sequence[str], label_sets: Sequence[Sequence[int]]) -> str:
    rows = (f"{i},{_label_field(s)}" for i, s in zip(image_ids, label_sets, strict=True))
    return "\n".join(["ImageID,Labels", *rows]) + "\n"


def _render_chunk(job: tuple[Path, int, list[tuple[int, list[int]]]]) -> int:
    """Worker: draw and save the images of one chunk; each image has its own seed (run seed, index)."""
    from helpers.demo.shapes import render_image

    images_dir, seed, items = job
    for index, labels in items:
        image = render_image(labels, np.random.default_rng(_derived_seed(seed, 2, index)))
        with atomic_path(images_dir / f"{index}.jpg") as tmp:
            image.save(tmp, format="JPEG", quality=JPEG_QUALITY)
    return len(items)


def _render_images(images_dir: Path, seed: int, label_sets: list[list[int]], workers: int, progress: bool) -> None:
    from tqdm.auto import tqdm

    items = list(enumerate(label_sets))
    chunk = max(1, min(200, len(items) // (4 * workers) or 1))
    jobs = [(images_dir, seed, items[i:i + chunk]) for i in range(0, len(items), chunk)]
    with tqdm(total=len(items), desc="demo images", unit="img", disable=not progress) as bar:
        if workers <= 1 or len(jobs) == 1:
            for job in jobs:
                bar.update(_render_chunk(job))
            return
        with Pool(workers) as pool:
            for done in pool.imap_unordered(_render_chunk, jobs):
                bar.update(done)


def _manifest(n_train: int, n_test: int, seed: int) -> dict[str, Any]:
    return {"generator": "helpers.demo.generator", "version": GENERATOR_VERSION, "n_train": n_train,
            "n_test": n_test, "seed": seed}


def demo_data_complete(out_dir: str | Path, n_train: int | None = None, n_test: int | None = None,
                       seed: int | None = None) -> bool:
    """True when out_dir holds a finished demo set (manifest present), of the given size and seed if given."""
    path = Path(out_dir) / MANIFEST
    if not path.is_file():
        return False
    manifest = read_json(path)
    wanted = {"n_train": n_train, "n_test": n_test, "seed": seed, "version": GENERATOR_VERSION}
    return all(manifest.get(key) == value for key, value in wanted.items() if value is not None)


def generate_demo_data(out_dir: str | Path, n_train: int, n_test: int, seed: int = 0, workers: int | None = None,
                       *, progress: bool = True) -> Path:
    """Write train.csv, test.csv, test_labels.csv, data/<ImageID>.jpg and demo_data.json (last) into out_dir.

    Train images are 0.jpg .. (n_train-1).jpg, test images follow on. Same arguments, same bytes,
    whatever the number of worker processes (default: every CPU).
    """
    if n_train < 1 or n_test < 0:
        raise ValueError(f"need n_train >= 1 and n_test >= 0, got n_train={n_train}, n_test={n_test}")
    out = Path(out_dir).expanduser().resolve()
    (out / MANIFEST).unlink(missing_ok=True)  # from here until the end the folder counts as incomplete
    images_dir = out / IMAGES_SUBDIR
    images_dir.mkdir(parents=True, exist_ok=True)

    train_sets = sample_label_sets(n_train, _derived_seed(seed, 0, 0))
    test_sets = sample_label_sets(n_test, _derived_seed(seed, 0, 1))
    train_captions = make_captions(train_sets, _derived_seed(seed, 1, 0))
    test_captions = make_captions(test_sets, _derived_seed(seed, 1, 1))
    train_ids = [f"{i}.jpg" for i in range(n_train)]
    test_ids = [f"{i}.jpg" for i in range(n_train, n_train + n_test)]

    _render_images(images_dir, seed, train_sets + test_sets, workers or os.cpu_count() or 1, progress)
    write_text(out / TRAIN_CSV, _caption_rows(train_ids, train_captions, train_sets))
    write_text(out / TEST_CSV, _caption_rows(test_ids, test_captions, None))
    write_text(out / TEST_LABELS_CSV, _labels_csv(test_ids, test_sets))
    write_json(out / MANIFEST, _manifest(n_train, n_test, seed))
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write (created if needed)")
    parser.add_argument("--n-train", type=int, default=REAL_ROWS, help="training rows (default: 30000, the real size)")
    parser.add_argument("--n-test", type=int, default=10000, help="test rows (default: 10000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None, help="processes drawing images (default: every CPU)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    out = generate_demo_data(args.out, args.n_train, args.n_test, args.seed, args.workers)
    print(f"wrote {args.n_train} + {args.n_test} rows to {out} in {time.perf_counter() - start:.1f} s "
          f"({args.workers or os.cpu_count()} workers)")


if __name__ == "__main__":
    main()
