"""Label new images and captions with the trained system: `Predictor` and `python -m helpers.predict`.

    from helpers.predictor.predictor import Predictor
    predictor = Predictor.load("artifacts/predictor.pt")
    table = predictor.predict(["a.jpg", "b.jpg"], ["A man riding a horse.", "Two red buses."])

`table` has one row per input: `labels` (the predicted label ids) and the 18 fused probabilities
(columns p_1 .. p_19). The file is notebook 05's `<out>/artifacts/predictor.pt`
(helpers.predictor.file describes it). From a shell, every row of a COMP5329-format test.csv:

    python -m helpers.predict --model artifacts/predictor.pt --data-dir /path/to/comp5329 --out labels.csv
"""
from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from helpers.core.config import TEST_CSV
from helpers.core.console import headless
from helpers.core.files import atomic_path
from helpers.core.labels import LABEL_IDS, N_LABELS, matrix_to_labels
from helpers.core.seeding import seeded
from helpers.data.dataset import read_test_folder
from helpers.data.submission import (
    read_submission,
    submission_table,
    validate_submission,
    write_submission,
)
from helpers.engine.device import choose_precision, pick_device
from helpers.engine.inference import predict_captions, predict_proba, prepare_for_inference
from helpers.models.registry import build_part
from helpers.models.text_encoder import predict_captions as predict_encoder_captions
from helpers.models.text_encoder import shown_source, tokenizer_from_files
from helpers.predictor.file import PredictorFile, PredictorFileError, load_predictor_file, used_sources
from helpers.predictor.inputs import CaptionEncoder, ImageInput, ImageInputs, check_inputs

PROBABILITY_COLUMNS = [f"p_{label}" for label in LABEL_IDS]
FEATURE_BATCH = 4096  # rows per batch of the small networks run on features and tokens


class Predictor:
    """The whole trained system from one predictor file: image model, caption model(s), fusion rule."""

    def __init__(self, file: PredictorFile, source: str = "the predictor file"):
        """Rebuild every network of `file` (helpers.models.registry) without touching the caller's random state."""
        self.file, self.source = file, source
        self.fusion = file.fusion
        self.sources = used_sources(self.fusion)
        self.image = file.image
        image, text, joint = file.image, file.text, file.joint
        with seeded():  # building draws initial weights (then overwritten): leave the caller's generators alone
            self.image_model = (build_part(image.model.to_state(), "image", f"{source}: image model")
                                if image is not None and image.model is not None else None)
            self.architecture = image.model.config.get("arch") if self.image_model is not None else None
            self.features_model = (build_part(image.features.to_state(), "features", f"{source}: image features")
                                   if image is not None and image.features is not None else None)
            if self.features_model is None and self.architecture == "B":
                self.features_model = self.image_model.backbone  # the frozen backbone's features feed the joint model
            self.text_models = [build_part(m.to_state(), "lstm", f"{source}: text model {i + 1}")
                                for i, m in enumerate(text.models)] if text else []
            self.joint_model = build_part(joint.model.to_state(), "joint", f"{source}: joint model") if joint else None
            encoder = file.encoder
            self.encoder_model = (build_part(encoder.model.to_state(), "text_encoder", f"{source}: caption encoder")
                                  if encoder is not None else None)
        self.encoder_tokenizer = tokenizer_from_files(encoder.tokenizer_files) if encoder is not None else None
        self.text_encoder = CaptionEncoder(text.encoding) if text else None
        self.joint_name = joint.name if joint else None
        self.joint_encoder = CaptionEncoder(joint.encoding) if joint else None
        available = {"image": self.image_model is not None, "text": bool(self.text_models),
                     "encoder": self.encoder_model is not None,
                     self.joint_name: self.joint_model is not None and self.features_model is not None}
        missing = [s for s in self.sources if not available.get(s)]
        if missing:
            raise PredictorFileError(f"{source}: the fusion rule uses source(s) {missing} but the file holds no "
                                     "model for them; rebuild it with notebook 05_ensembling")

    @classmethod
    def load(cls, path: str | Path) -> Predictor:
        """Read a predictor file (nothing unpickled); PredictorFileError says what is wrong with a bad one."""
        return cls(load_predictor_file(path), str(path))

    @classmethod
    def from_bundle(cls, bundle: Mapping[str, Any], source: str = "the predictor bundle") -> Predictor:
        """A predictor from an in-memory bundle (build_predictor_bundle's dict), read as the file would be."""
        return cls(PredictorFile.from_state(bundle), source)

    def describe(self) -> str:
        f = self.file
        image = f"image model {self.architecture} at {self.image.size} px" if self.image_model else "no image model"
        parts = [image,
                 f"{len(self.text_models)} caption model(s)", *([self.joint_name] if self.joint_name else []),
                 *([f"caption encoder ({shown_source(self.encoder_model.config.source)})"]
                   if self.encoder_model else [])]
        return (f"{self.source}: format {f.format_version}, written by project {f.versions.project} with torch "
                f"{f.versions.torch}{', float16 weights' if f.half else ''}; {', '.join(parts)}; fusion "
                f"{self.fusion.method.name!r}: {self.fusion.method.describe()}")

    def predict(self, images: Sequence[ImageInput], captions: Sequence[str], batch_size: int = 64,
                device: str | torch.device = "auto", num_workers: int = 0, progress: bool = True) -> pd.DataFrame:
        """One row per (image, caption): `labels` (label ids) and the 18 fused probabilities (PROBABILITY_COLUMNS).

        images: file paths or PIL images; captions: one non-empty string per image. Batches of
        batch_size images (decoded in num_workers processes), on `device` ("auto": the GPU if any).
        """
        images, captions = list(images), list(captions)
        check_inputs(images, captions)
        if not images:
            return pd.DataFrame({"labels": [], **{c: np.zeros(0, np.float32) for c in PROBABILITY_COLUMNS}})
        device = pick_device(device) if isinstance(device, str) else device
        probs = self._image_sources(images, batch_size, num_workers, device, progress)
        if "text" in self.sources:
            tokens, lengths = self.text_encoder.encode(captions)
            probs["text"] = np.mean([predict_captions(m.to(device), tokens, lengths, device)
                                     for m in self.text_models], axis=0)
        if "encoder" in self.sources:
            probs["encoder"] = predict_encoder_captions(self.encoder_model, self.encoder_tokenizer, captions,
                                                        device=device)  # its own batches: those of notebook 04
        if self.joint_name in self.sources:
            tokens, lengths = self.joint_encoder.encode(captions)
            probs[self.joint_name] = predict_proba(self.joint_model.to(device),
                                                   _batches(probs.pop("features"), tokens, lengths), device)
        first, second = (np.asarray(probs.get(s, np.zeros((len(images), N_LABELS))), dtype=np.float32)
                         for s in self.fusion.method.sources)
        table = pd.DataFrame(self.fusion.proba(first, second).astype(np.float32), columns=PROBABILITY_COLUMNS)
        table.insert(0, "labels", matrix_to_labels(self.fusion.predict(first, second)))
        return table

    def _image_sources(self, images: list[ImageInput], batch_size: int, num_workers: int, device: torch.device,
                       progress: bool) -> dict[str, Any]:
        """{"image": probabilities, "features": joint-model input} as far as the fusion needs them.

        Architecture B runs as the pipeline runs it: backbone features at the inference precision, then
        the head in float32 on those features; architecture A gives logits directly.
        """
        wants_image, wants_features = "image" in self.sources, self.joint_name in self.sources
        networks = {}
        if wants_image:
            networks["image"] = self.image_model.backbone if self.architecture == "B" else self.image_model
        if wants_features and not (wants_image and self.architecture == "B"):
            networks["features"] = self.features_model
        if not networks:
            return {}
        out = self._run_images(networks, images, batch_size, num_workers, device, progress)
        if wants_image and self.architecture == "B":
            if wants_features:
                out["features"] = out["image"]
            out["image"] = predict_proba(self.image_model.head.to(device), _batches(out["image"]), device)
        elif wants_image:
            out["image"] = torch.sigmoid(out["image"]).numpy()
        return out

    @torch.inference_mode()
    def _run_images(self, networks: dict[str, torch.nn.Module], images: list[ImageInput], batch_size: int,
                    num_workers: int, device: torch.device, progress: bool) -> dict[str, torch.Tensor]:
        """Each network's output for every image, float32 on the CPU; images decoded once for all of them."""
        image = self.image
        precision = choose_precision(device)
        networks = {k: prepare_for_inference(m, device, precision) for k, m in networks.items()}
        loader = DataLoader(ImageInputs(images, image.size, image.preprocessing, *image.normalisation),
                            batch_size=batch_size, num_workers=num_workers, pin_memory=device.type == "cuda",
                            generator=torch.Generator())  # its seed draw leaves the caller's generator alone
        outputs: dict[str, list[torch.Tensor]] = {k: [] for k in networks}
        quiet = not progress or headless() or len(loader) < 5
        for batch in tqdm(loader, desc="predicting", unit="batch", disable=quiet, mininterval=2.0):
            batch = batch.to(device, non_blocking=True)
            if precision.channels_last:
                batch = batch.contiguous(memory_format=torch.channels_last)
            for name, network in networks.items():
                with precision.autocast():
                    outputs[name].append(network(batch).float().cpu())
        return {name: torch.cat(parts) for name, parts in outputs.items()}


def _batches(features: torch.Tensor | None, tokens: torch.Tensor | None = None,
             lengths: torch.Tensor | None = None) -> list[tuple[torch.Tensor, ...]]:
    """(inputs..., dummy targets) batches for predict_proba; captions trimmed to each batch's longest."""
    n = len(features) if features is not None else len(tokens)
    batches = []
    for index in torch.arange(n).split(FEATURE_BATCH):
        inputs: tuple[torch.Tensor, ...] = () if features is None else (features[index],)
        if tokens is not None:
            inputs += (tokens[index, : int(lengths[index].max())], lengths[index])
        batches.append((*inputs, torch.zeros(len(index), N_LABELS)))
    return batches


def measure_predict_throughput(predictor: Predictor, images: Sequence[ImageInput], captions: Sequence[str], *,
                               batch_size: int = 64, device: str = "auto", num_workers: int = 0) -> float:
    """Rows per second of Predictor.predict on these rows (image decoding included), after a one-batch warm-up."""
    warm = min(len(images), batch_size)
    predictor.predict(images[:warm], captions[:warm], batch_size, device, num_workers, progress=False)
    start = time.perf_counter()
    predictor.predict(images, captions, batch_size, device, num_workers, progress=False)
    return len(images) / (time.perf_counter() - start)


def label_csv(predictor: Predictor, data_dir: str | Path, out: str | Path, csv: str | Path = TEST_CSV,
              probabilities: str | Path | None = None, **predict_options: Any) -> Path:
    """Label every row of a test.csv and write the submission (and the probabilities), each atomically."""
    rows, images_dir = read_test_folder(data_dir, csv)
    ids = rows["ImageID"].tolist()
    table = predictor.predict([images_dir / i for i in ids], rows["Caption"].tolist(), **predict_options)
    validate_submission(submission_table(ids, table["labels"]), ids)  # before anything is written
    if probabilities is not None:
        with atomic_path(Path(probabilities)) as tmp:
            table[PROBABILITY_COLUMNS].assign(ImageID=ids)[["ImageID", *PROBABILITY_COLUMNS]].to_csv(tmp, index=False)
    return write_submission(out, ids, list(table["labels"]), test_ids=ids)


def differing_rows(predictor: Predictor, data_dir: str | Path, submission: str | Path, csv: str | Path = TEST_CSV,
                   **predict_options: Any) -> pd.DataFrame:
    """Rows where the predictor's labels differ from a submission file (empty: it reproduces it row for row)."""
    rows, images_dir = read_test_folder(data_dir, csv)
    ids = rows["ImageID"].tolist()
    written = read_submission(submission, ids)
    table = predictor.predict([images_dir / i for i in ids], rows["Caption"].tolist(), **predict_options)
    again = submission_table(ids, table["labels"])["Labels"]
    differ = written["Labels"].to_numpy() != again.to_numpy()
    return pd.DataFrame({"ImageID": written["ImageID"][differ], "submission": written["Labels"][differ],
                         "predictor": again[differ]}).reset_index(drop=True)
