"""Run profiles: how big every stage runs.

- smoke: tiny, for tests; proves every cell runs, not that models learn.
- cpu:   every experiment at a size a 2-core machine finishes; each notebook states its reductions.
- full:  the reference study's settings, meant for a GPU.

Each stage has its own small dataclass; a profile is one instance of each.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

PROFILE_NAMES = ("smoke", "cpu", "full")


@dataclass(frozen=True)
class DemoDataSize:
    """Size of the built-in demo data set generated when no data folder is given."""

    n_train: int
    n_test: int


@dataclass(frozen=True)
class EdaSettings:
    examples_per_side: int = 15  # images with / without each label in fig03 (the reference showed 15)
    thumbnail_px: int = 160  # fig03 thumbnails, drawn one image pixel per figure pixel


@dataclass(frozen=True)
class TextSettings:
    max_len: int = 20  # tokens kept per caption (reference: 20)
    max_len_with_stopwords: int = 25  # reference: 25 when stop words are kept


@dataclass(frozen=True)
class LstmSettings:
    ablation_epochs: int = 20  # epoch cap of each ablation run (stops earlier after `patience`); reference: 20
    seeds: tuple[int, ...] = (0, 1, 2)  # reference: 3 runs per setting
    ablation_max_rows: int | None = None  # training rows per ablation run; None: every training row
    final_max_epochs: int = 30  # final model: early stopping on validation micro-F1
    patience: int = 5  # ablation runs and the final model stop after this many epochs without a better val micro-F1
    min_epochs: int = 0  # ... but not before this epoch (a slow start is not a plateau)
    batch_size: int = 128  # small batches learn more per epoch; the speed benchmark uses 512
    lr: float = 1e-3  # Adam; the reference LSTM's learning rate (every run but the learning-rate ablation)
    cutoff: float = 0.5  # probability cut-off of the reference LSTM
    # the ablation grids (the reference's values); each holds the reference setting, which the others are compared to
    ablation_architectures: tuple[str, ...] = ("standard", "bidirectional", "two_layers", "bidirectional_first_last")
    ablation_cutoffs: tuple[float, ...] = (0.25, 0.5, 0.75)
    ablation_learning_rates: tuple[float, ...] = (0.1, 0.01, 0.001)
    ablation_embed_dims: tuple[int, ...] = (32, 64, 128)
    ablation_hidden_dims: tuple[int, ...] = (64, 128, 256)
    ablation_text_variants: tuple[str, ...] = ("standard", "stopwords", "nostem", "lemma")  # notebook 02's encodings


@dataclass(frozen=True)
class CnnSettings:
    image_size: int = 224  # reference: 224 x 224, stretched
    head_epochs: int = 120  # architecture B head; reference curve goes to 120 epochs
    head_patience: int | None = None  # final B head: early stopping on validation micro-F1; None: every epoch
    experiment_epochs: int = 60  # head epochs per lr / optimizer experiment run
    seeds: tuple[int, ...] = (0, 1, 2)
    finetune_epochs: int = 10  # architecture A, every weight trained
    finetune_image_size: int = 224
    finetune_max_rows: int | None = None  # None: every training row
    finetune_val_rows: int | None = None  # validation rows checked each epoch of architecture A; None: all
    batch_size: int = 64
    head_batch_size: int = 256  # architecture B head on cached features
    num_workers: int = 2
    reference_timing_rows: int = 256  # images timed for the "backbone every epoch" estimate
    throughput_images: int = 512  # images for the forward vs extraction throughput measurement (several batches)
    require_pretrained: bool = True  # full profile stops when ImageNet weights cannot be loaded
    # backbone comparison (notebook 03, helpers.bench): registry names, and the training rows its heads learn from
    backbones: tuple[str, ...] = ("resnet34", "resnet50", "efficientnet_b3", "regnet_y_3_2gf", "convnext_tiny")
    backbone_max_rows: int | None = None  # None: every training row
    losses: tuple[str, ...] = ("bce", "focal", "asymmetric")  # loss comparison of the head (bce: the reference)
    # without pretrained weights (smoke / cpu offline): a small ResNet trained from scratch
    # (helpers.train.image_training)
    scratch_image_size: int = 64
    scratch_widths: tuple[int, ...] = (32, 64, 128, 256)
    scratch_epochs: int = 15
    scratch_lr: float = 3e-3  # AdamW peak learning rate of the one-cycle schedule
    scratch_weight_decay: float = 0.05
    scratch_batch_size: int = 64
    scratch_precision: str = "auto"  # CPU training: "auto" (bfloat16 where the CPU has native bf16 units), "float32"
    scratch_patience: int | None = None  # early stopping of the from-scratch run; None: the whole schedule
    # offline backbone comparison: each from-scratch network trained this many epochs (short runs), on these
    # training rows (None: all; 1,200 rows x 6 epochs left every network at the baseline), at this size (None: the
    # from-scratch model's own scratch_image_size)
    scratch_compare_epochs: int = 8
    scratch_compare_rows: int | None = None
    scratch_compare_image_size: int | None = 32


@dataclass(frozen=True)
class FusionSettings:
    folds: int = 5  # cross-fitting folds on the validation split
    logistic_C: float = 1.0  # inverse L2 strength of the learned (logistic) fusion
    gallery_size: int = 8  # validation examples in fig22
    caption_examples: int = 6  # rows of fig19
    bootstrap_samples: int = 1000  # paired-bootstrap resamples of the validation rows per interval
    joint_fusions: tuple[str, ...] = ("concat", "gated")  # joint image-caption models (helpers.models.joint)
    joint_width: int = 128  # each branch's output size in the joint model
    joint_epochs: int = 20  # cap; early stopping on validation micro-F1 picks the epoch
    joint_patience: int = 3
    joint_aux_weight: float = 1.0  # gated joint model: each branch's own loss beside the fused one (models.joint);
    # measured on the demo data: the gated model's image branch alone went from micro-F1 0.38 to 0.74, and the gated
    # model refitted on validation (calibrated expected-F1 sets) from samples-F1 0.837 to 0.890
    joint_lr: float = 1e-3
    joint_batch_size: int = 128
    joint_refit_epochs: int = 30  # the joint model's fusion module refitted on the validation folds (fixed epochs)


@dataclass(frozen=True)
class TextEncoderSettings:
    """Notebook 04's pretrained caption encoder (TEXT_ENCODER), frozen and fine-tuned beside the LSTM."""

    epochs: int = 3  # fine-tuning epochs (issue 22: 3 epochs reach 0.868 samples-F1 on real captions)
    patience: int | None = 1
    head_epochs: int = 40  # frozen encoder: head epochs on the cached embeddings
    head_patience: int | None = 5
    batch_size: int = 32
    lr: float = 1e-3  # the head's; the encoder trains at lr * encoder_lr_factor
    encoder_lr_factor: float = 0.05
    max_length_cap: int = 128  # tokens per caption at most (the 99th percentile of the training captions below it)
    max_rows: int | None = None  # training rows used; None: every training row


@dataclass(frozen=True)
class Profile:
    name: str
    demo: DemoDataSize
    offline: bool = False  # True: never try a download (weights, NLTK corpora); the tests' profile runs offline
    eda: EdaSettings = field(default_factory=EdaSettings)
    text: TextSettings = field(default_factory=TextSettings)
    lstm: LstmSettings = field(default_factory=LstmSettings)
    cnn: CnnSettings = field(default_factory=CnnSettings)
    fusion: FusionSettings = field(default_factory=FusionSettings)
    text_encoder: TextEncoderSettings = field(default_factory=TextEncoderSettings)


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        demo=DemoDataSize(n_train=600, n_test=150),  # the smallest at which every model learns something
        offline=True,
        eda=EdaSettings(examples_per_side=3, thumbnail_px=64),
        lstm=LstmSettings(ablation_epochs=1, seeds=(0,), ablation_max_rows=64, final_max_epochs=30, patience=5,
                          batch_size=32, lr=0.01),  # the final text model must learn, so that fusion beats the baseline
        cnn=CnnSettings(
            image_size=32, head_epochs=3, experiment_epochs=2, seeds=(0,), finetune_epochs=1,
            finetune_image_size=32, finetune_max_rows=32, finetune_val_rows=16, batch_size=32, num_workers=0,
            reference_timing_rows=8, throughput_images=16, require_pretrained=False,
            backbones=("resnet18", "mobilenet_v3_small"), backbone_max_rows=64, scratch_image_size=32,
            scratch_widths=(8, 16, 32, 64), scratch_epochs=2, scratch_batch_size=32, scratch_compare_epochs=1,
            scratch_compare_rows=64,
        ),
        fusion=FusionSettings(folds=2, gallery_size=4, caption_examples=3, bootstrap_samples=200, joint_width=16,
                              joint_epochs=2, joint_patience=1, joint_refit_epochs=3),
        text_encoder=TextEncoderSettings(epochs=1, head_epochs=5, batch_size=16, max_length_cap=32, max_rows=200),
    ),
    "cpu": Profile(
        name="cpu",
        demo=DemoDataSize(n_train=6000, n_test=2000),
        # measured learning curves on the demo data (4,820 training rows, validation micro-F1 per epoch, 30 epochs;
        # baseline 0.600): batch 512 at lr 0.01 (about 10 steps an epoch) sits on the baseline for 6 epochs (the
        # reference), 10 (embedding 32), 15 (stop words kept) and 20 (two layers), so 3 ablation runs stalled there;
        # batch 128 at lr 0.01 costs the same per epoch (length buckets) and every setting leaves the baseline by
        # epoch 6: reference peaks 0.780 at epoch 6, two layers 0.771 at 16-23, embedding 32 0.768 at 11, stop words
        # 0.786 at 15, hidden 64 0.786 at 12-23, lr 0.001 0.777 at 16; lr 0.1 still creeps up at epoch 30 (0.73).
        # Patience 4 from epoch 10 on rides out the flat start. One seed per ablation setting (the paired bootstrap
        # over validation rows is the interval): two do not fit the time budget of the quick start.
        lstm=LstmSettings(ablation_epochs=30, seeds=(0,), ablation_max_rows=None, final_max_epochs=30, patience=4,
                          min_epochs=10, batch_size=128, lr=0.01),
        cnn=CnnSettings(
            image_size=64, head_epochs=120, head_patience=25, experiment_epochs=30, seeds=(0, 1), finetune_epochs=3,
            finetune_image_size=64, finetune_max_rows=1000, finetune_val_rows=500, batch_size=64, num_workers=2,
            head_batch_size=512,
            reference_timing_rows=64, throughput_images=256, require_pretrained=False,
            backbones=("mobilenet_v3_small", "resnet18", "efficientnet_b0"), backbone_max_rows=1200,
            scratch_epochs=20,  # 15 left the offline image model at macro-F1 0.38 (22: 0.53); 20 fits the quick start
            scratch_patience=5,  # the one-cycle schedule is the cap; patience stops a run that plateaus before its end
        ),
        # joint models, measured on the demo data: at cap 12 both were still improving; with patience 3 concat stops
        # at epoch 26 (best 23) and gated at 19 (best 16), 20 + 15 s of training
        fusion=FusionSettings(joint_epochs=40, joint_patience=3, joint_batch_size=256),
        text_encoder=TextEncoderSettings(max_length_cap=64),  # all-MiniLM-L6-v2, 4,800 rows x 3 epochs: minutes
    ),
    "full": Profile(name="full", demo=DemoDataSize(n_train=30000, n_test=10000)),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILE_NAMES)}") from None


def _show(value: object) -> str:
    if value is None:
        return "all"
    if isinstance(value, tuple):
        return f"{len(value)} ({', '.join(map(str, value))})"
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def describe_reductions(profile: Profile, stage: str) -> str:
    """Markdown list of where one stage's settings in this profile differ from the full (reference) profile.

    Derived from the dataclasses themselves, so it cannot drift from the settings actually used;
    stage is a Profile field name ("eda", "text", "lstm", "cnn", "fusion").
    """
    mine, full = getattr(profile, stage), getattr(PROFILES["full"], stage)
    lines = [f"- `{f.name}`: **{_show(getattr(mine, f.name))}** (full profile: {_show(getattr(full, f.name))})"
             for f in fields(mine) if getattr(mine, f.name) != getattr(full, f.name)]
    if not lines:
        return f"Profile `{profile.name}` uses the full profile's `{stage}` settings everywhere."
    return f"Profile `{profile.name}` changes these `{stage}` settings:\n\n" + "\n".join(lines)
