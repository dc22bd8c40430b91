"""The built-in demo data set: synthetic images + captions in the exact COMP5329 file format.

Why: every notebook and test must run without the real (non-redistributable) data, and the demo set
should behave like it, so that label imbalance, co-occurrence and "the caption often does not name
the object" show up in the demo results as they would on the real set.

The generator works in this order:
1. label sets fitted to the real statistics (helpers.demo.label_sets);
2. one caption per row from a small grammar with the real mention rates and CSV quirks (helpers.demo.captions);
3. images (helpers.demo.shapes): one cartoon object per label instance on a cluttered background,
   drawn in a process pool with one seed per image, so the output does not depend on `workers`;
4. files written atomically; the manifest demo_data.json last: a folder without it is an interrupted generation.

Command line: python -m helpers.demo --out DIR --n-train N --n-test M --seed S
"""
from __future__ import annotations

import os
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np

from helpers.core.config import IMAGES_SUBDIR, TEST_CSV, TEST_LABELS_CSV, TRAIN_CSV
from helpers.core.console import headless
from helpers.core.files import atomic_path, write_json
from helpers.data.csv_format import write_captions_csv, write_labels_csv
from helpers.demo.captions import make_captions
from helpers.demo.label_sets import sample_label_sets
from helpers.demo.sampling import derived_seed

GENERATOR_VERSION = 1
MANIFEST = "demo_data.json"
JPEG_QUALITY = 88


def _render_chunk(job: tuple[Path, int, list[tuple[int, list[int]]]]) -> int:
    """Worker: draw and save the images of one chunk; each image has its own seed (run seed, index)."""
    from helpers.demo.shapes import render_image

    images_dir, seed, items = job
    for index, labels in items:
        image = render_image(labels, np.random.default_rng(derived_seed(seed, 2, index)))
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


def generate_demo_data(out_dir: str | Path, n_train: int, n_test: int, seed: int = 0, workers: int | None = None,
                       *, progress: bool | None = None) -> Path:
    """Write train.csv, test.csv, test_labels.csv, data/<ImageID>.jpg and demo_data.json (last) into out_dir.

    Train images are 0.jpg .. (n_train-1).jpg, test images follow on. Same arguments, same bytes,
    whatever the number of worker processes (default: every CPU). progress: draw a progress bar
    (default: yes, except under helpers.pipeline).
    """
    if n_train < 1 or n_test < 0:
        raise ValueError(f"need n_train >= 1 and n_test >= 0, got n_train={n_train}, n_test={n_test}")
    out = Path(out_dir).expanduser().resolve()
    (out / MANIFEST).unlink(missing_ok=True)  # from here until the end the folder counts as incomplete
    images_dir = out / IMAGES_SUBDIR
    images_dir.mkdir(parents=True, exist_ok=True)

    train_sets = sample_label_sets(n_train, derived_seed(seed, 0, 0))
    test_sets = sample_label_sets(n_test, derived_seed(seed, 0, 1))
    train_captions = make_captions(train_sets, derived_seed(seed, 1, 0))
    test_captions = make_captions(test_sets, derived_seed(seed, 1, 1))
    train_ids = [f"{i}.jpg" for i in range(n_train)]
    test_ids = [f"{i}.jpg" for i in range(n_train, n_train + n_test)]

    show = not headless() if progress is None else progress
    _render_images(images_dir, seed, train_sets + test_sets, workers or os.cpu_count() or 1, show)
    write_captions_csv(out / TRAIN_CSV, train_ids, train_captions, train_sets)
    write_captions_csv(out / TEST_CSV, test_ids, test_captions)
    write_labels_csv(out / TEST_LABELS_CSV, test_ids, test_sets)
    write_json(out / MANIFEST, _manifest(n_train, n_test, seed))
    return out
