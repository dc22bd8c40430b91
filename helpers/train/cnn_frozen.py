"""Architecture B's final model: the frozen backbone + the head trained for the full epochs, with honest timings."""
from __future__ import annotations

import time
from dataclasses import asdict
from functools import partial
from typing import TYPE_CHECKING, Any

from torch import nn

from helpers.core.profiles import CnnSettings
from helpers.models.image_models import FrozenBackbone
from helpers.train.cnn_head import HeadTrainer
from helpers.train.cnn_outcome import ModelOutcome
from helpers.train.fit import TrainConfig
from helpers.train.image_features import FeatureSet, cached_features, run_on_images

if TYPE_CHECKING:
    from helpers.run import Run


def backbone_features(run: Run, extractor: nn.Module, *, dim: int, tag: str, size: int, settings: CnnSettings,
                      preprocessing: str = "reference") -> tuple[FeatureSet, FeatureSet]:
    """Frozen-backbone features of every train.csv and test.csv image: computed once, then read from the cache."""
    data = run.dataset
    loader = dict(batch_size=settings.batch_size, num_workers=settings.num_workers, device=run.device,
                  preprocessing=preprocessing)
    common = dict(dim=dim, cache_dir=run.paths.feature_cache, size=size, weights=f"{tag}_{preprocessing}",
                  fingerprint=run.fingerprint, fresh=run.fresh)
    train = cached_features(partial(run_on_images, extractor, data.train_image_paths(), size, desc="train features",
                                    **loader), data.train["ImageID"], image_set="train", **common)
    test = cached_features(partial(run_on_images, extractor, data.test_image_paths(), size, desc="test features",
                                   **loader), data.test["ImageID"], image_set="test", **common)
    return train, test


def finish_frozen(trainer: HeadTrainer, config: TrainConfig, extractor: nn.Module, train_features: FeatureSet,
                  test_features: FeatureSet, *, backbone_config: dict[str, Any], name: str,
                  backbone_train_s: float = 0.0) -> ModelOutcome:
    """The head trained with `config` (best validation epoch) on the frozen extractor's features.

    Training time = training the backbone (backbone_train_s: when it was trained from scratch here, as
    architecture A; 0 for pretrained weights) + extracting the train.csv features + optimising the head;
    testing time = extracting the test features + running the head. backbone_config: backbone, pretrained,
    image_size, preprocessing (and widths for the from-scratch network), stored so that the model can be rebuilt.
    """
    head, result = trainer.train(config, desc="architecture B head")
    start = time.perf_counter()
    test_probs = trainer.predict(head, "test")
    head_test_s = time.perf_counter() - start
    config_dict = {**trainer.model_config(), **backbone_config, "train_config": asdict(config),
                   "feature_cache": [train_features.path.name, test_features.path.name]}
    return ModelOutcome(
        name=name, arch="B", model=FrozenBackbone(extractor, head), fit=result,
        val_probs=trainer.predict(head, "val"), test_probs=test_probs,
        train_time_s=backbone_train_s + train_features.extract_s + result.train_time_s,
        test_time_s=test_features.extract_s + head_test_s, pretrained=bool(backbone_config["pretrained"]),
        config=config_dict,
        train_time_note=(f"backbone trained from scratch (architecture A) {backbone_train_s:.1f} s + "
                         if backbone_train_s else "")
        + f"feature extraction {train_features.extract_s:.1f} s (every train.csv image, once) "
          f"+ head {result.train_time_s:.1f} s",
    )
