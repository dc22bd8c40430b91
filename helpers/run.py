"""The run: the one context every notebook builds from its parameters (paths, profile, device, data set, split).

`setup_run` turns a notebook's parameters cell into a `Run` (checking ON_BAD_IMAGE and DATA_DIR first);
the Run reads and validates the data set once, fixes the train/validation split (SPLIT_SEED, the same
for every notebook and training seed) and saves figures and tables where the pipeline expects them.
`ensure_demo_data` generates the built-in demo data set when no DATA_DIR is given.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from helpers.core.config import RunPaths, demo_data_dir, run_paths
from helpers.core.files import remove_stale_temporaries
from helpers.core.profiles import Profile, get_profile
from helpers.engine.device import pick_device
from helpers.report import figures

if TYPE_CHECKING:
    import matplotlib.pyplot as plt
    import torch

    from helpers.data.dataset import ImageCaptionData

VAL_FRACTION = 0.2
SPLIT_SEED = 0  # one fixed train/validation split for every notebook and every training seed


@dataclass
class Run:
    paths: RunPaths
    profile: Profile
    seed: int = 0
    fresh: bool = False  # True: retrain even where a finished result for the same config and data is cached
    on_bad_image: str = "error"  # or "skip": drop train rows whose image is missing or corrupt, and list them
    device_preference: str = "auto"
    _dataset: ImageCaptionData | None = field(default=None, repr=False)

    @cached_property
    def device(self) -> torch.device:
        return pick_device(self.device_preference)

    @property
    def dataset(self) -> ImageCaptionData:
        """The data set, read and validated once per run.

        Every image is checked up front: its header and end marker in "error" mode (finds files that
        are not images and truncated files), a full decode in "skip" mode (so that no later stage meets
        an undecodable training image). The result is cached per data fingerprint under artifacts/, so
        only the first notebook on a data set pays for the check.
        """
        if self._dataset is None:
            from helpers.data.dataset import load_dataset

            verify = "full" if self.on_bad_image == "skip" else "header"
            cache = self.paths.artifacts / "image_checks" / f"{self.fingerprint}_{verify}.json"
            self._dataset = load_dataset(self.paths.data_dir, check_images=True, on_bad_image=self.on_bad_image,
                                         verify_images=verify, image_check_cache=cache)
        return self._dataset

    @cached_property
    def fingerprint(self) -> str:
        """Short hash of the data (CSV contents and image listing): part of every cache key."""
        from helpers.data.dataset import data_fingerprint

        return data_fingerprint(self.paths.data_dir)

    @cached_property
    def split(self) -> tuple[np.ndarray, np.ndarray]:
        """(train_rows, val_rows): indices into dataset.train, stratified on every label, fixed seed."""
        from helpers.data.split import train_val_split

        return train_val_split(self.dataset.Y, val_fraction=VAL_FRACTION, seed=SPLIT_SEED)

    def save_fig(self, fig: plt.Figure, name: str) -> Path:
        return figures.save_fig(fig, name, self.paths.figures)

    def save_table(self, df: pd.DataFrame, name: str) -> Path:
        return figures.save_table(df, name, self.paths.figures)

    def save_text(self, markdown: str, name: str) -> Path:
        """A generated section (a notebook's "What we found": findings_01 ... findings_05) for the report document."""
        return figures.save_text(markdown, name, self.paths.figures)

    def describe(self) -> str:
        return (f"data: {self.paths.data_dir}\noutputs: {self.paths.out_dir}\nprofile: {self.profile.name}, "
                f"seed {self.seed}, device {self.device}, fresh={self.fresh}")


def ensure_demo_data(profile: Profile) -> Path:
    """The built-in demo data set at the profile's size; generated unless a complete one is there."""
    from helpers.demo import MANIFEST, generate_demo_data

    data_dir = demo_data_dir(profile.demo.n_train, profile.demo.n_test)
    if not (data_dir / MANIFEST).exists():
        print(f"Generating the built-in demo data set ({profile.demo.n_train} + {profile.demo.n_test} rows) "
              f"in {data_dir} ...", flush=True)
        generate_demo_data(data_dir, profile.demo.n_train, profile.demo.n_test, seed=0)
    return data_dir


def setup_run(data_dir: str = "", profile: str = "cpu", out_dir: str = "", seed: int = 0, fresh: bool = False,
              on_bad_image: str = "error", device: str = "auto") -> Run:
    """Build the run context from notebook parameters; "" means the built-in demo data / the repository root."""
    if on_bad_image not in ("error", "skip"):
        raise ValueError(f"ON_BAD_IMAGE must be 'error' or 'skip', not {on_bad_image!r}")
    settings = get_profile(profile)
    paths = run_paths(data_dir or ensure_demo_data(settings), out_dir or None)
    if not paths.data_dir.is_dir():
        raise FileNotFoundError(f"data folder {paths.data_dir} does not exist; DATA_DIR must be a folder holding "
                                "train.csv, test.csv and data/<ImageID> images")
    for folder in (paths.figures, paths.artifacts):
        folder.mkdir(parents=True, exist_ok=True)
        for stale in remove_stale_temporaries(folder):
            print(f"removed {stale.name}: a temporary file left by a write that was killed halfway")
    figures.set_theme()
    return Run(paths=paths, profile=settings, seed=seed, fresh=fresh, on_bad_image=on_bad_image,
               device_preference=device)
