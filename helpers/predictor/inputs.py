"""The predictor's inputs: images (paths or PIL images) to tensors and captions to token ids, checked first.

Images are read exactly as the pipeline reads them (helpers.train.image_data: upright RGB, then the
preprocessing the image model was trained with, helpers.models.image_model.image_transform); captions go through
the bundle's own preprocessing settings, stop word list and dictionary (helpers.text), so nothing
depends on what is installed on the machine that predicts (NLTK corpora, the bundled lists).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import Dataset

from helpers.data.errors import listing
from helpers.data.images import ImageError, load_rgb, load_rgb_resized, to_rgb
from helpers.models.image_model import image_transform, normalisation
from helpers.predictor.file import CaptionEncoding
from helpers.text.preprocessing import Preprocessor
from helpers.text.stopwords import StopWords
from helpers.text.vocabulary import encode

ImageInput = str | Path | Image.Image


def check_inputs(images: Sequence[ImageInput], captions: Sequence[str]) -> None:
    """Same number of images and captions, every caption a non-blank string, every image path an existing file.

    Raises ValueError (captions, counts) or ImageError (images) listing the offending rows (0-based).
    """
    if len(images) != len(captions):
        raise ValueError(f"{len(images)} images but {len(captions)} captions: pass one caption per image")
    empty = [f"row {i}" + ("" if isinstance(images[i], Image.Image) else f" ({images[i]})")
             for i, c in enumerate(captions) if not isinstance(c, str) or not c.strip()]
    if empty:
        raise ValueError(f"{len(empty)} empty caption(s): {listing(empty)}; every image needs its caption text")
    bad = [f"row {i}: {item!r}" for i, item in enumerate(images) if not isinstance(item, (str, Path, Image.Image))]
    if bad:
        raise TypeError(f"images must be file paths or PIL images: {listing(bad)}")
    missing = [f"row {i}: {item}" for i, item in enumerate(images)
               if not isinstance(item, Image.Image) and not Path(item).is_file()]
    if missing:
        raise ImageError(f"{len(missing)} image file(s) not found: {listing(missing)}; check the paths")


class ImageInputs(Dataset):
    """Normalised image tensors (3, size, size), one per path or PIL image, read as the pipeline reads them.

    "reference" preprocessing: stretched to size x size while decoding (helpers.data.images.load_rgb_resized);
    "weights": the whole image, resized and centre-cropped by the weights' own transform.
    """

    def __init__(self, images: Sequence[ImageInput], size: int, preprocessing: str, mean: Sequence[float],
                 std: Sequence[float]):
        if tuple(normalisation(preprocessing)) != (tuple(mean), tuple(std)):
            raise ValueError(f"the predictor file normalises {preprocessing!r} images with mean {list(mean)} and std "
                             f"{list(std)}, this project version with {normalisation(preprocessing)}; rebuild the "
                             "predictor file with this project version")
        self.images, self.size = list(images), int(size)
        self.stretch = preprocessing == "reference"
        self.transform = image_transform(self.size, preprocessing)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        item = self.images[i]
        if isinstance(item, Image.Image):
            image = to_rgb(item)
            if self.stretch and image.size != (self.size, self.size):
                image = image.resize((self.size, self.size), Image.Resampling.BILINEAR)
        else:  # both raise ImageError naming the file
            image = load_rgb_resized(item, self.size) if self.stretch else load_rgb(item)
        return self.transform(image)


class CaptionEncoder:
    """Captions -> (token ids (n, max_len), lengths (n,)) with a bundle's preprocessing, stop words and dictionary."""

    def __init__(self, encoding: CaptionEncoding):
        self.config = encoding.config
        stopwords = StopWords(frozenset(encoding.stopwords), "the predictor file")
        self.preprocessor = Preprocessor(self.config, stopwords, download=False)
        self.vocab = list(encoding.vocab)

    def encode(self, captions: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        return encode(self.preprocessor.tokenize_all(captions), self.vocab, self.config.max_len)
