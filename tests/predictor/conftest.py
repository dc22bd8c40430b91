"""Fixtures of the predictor tests: the demo data set and small models of every kind (tests.predictor.fakes)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from helpers.core.labels import N_LABELS
from helpers.demo import generate_demo_data
from helpers.fusion.methods import FusionMethod, fit_fusion
from helpers.models.backbones import ScratchResNet
from helpers.models.image_model import FeatureHead, FrozenBackbone, feature_extractor
from helpers.models.lstm import LstmConfig, build_lstm
from helpers.predictor.file import (
    CaptionEncoding,
)
from helpers.text.preprocessing import Preprocessor, TextConfig
from helpers.text.stopwords import bundled_stopwords
from helpers.text.vocabulary import build_vocab
from tests.predictor.fakes import DIM, SIZE, stopwords_of


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    return generate_demo_data(tmp_path_factory.mktemp("demo"), 40, 20, seed=0, workers=1, progress=False)


@pytest.fixture(scope="session")
def parts(demo):
    """Small random models of every kind the bundle holds, a caption encoding and a fitted fusion rule."""
    torch.manual_seed(0)
    head = FeatureHead(DIM, hidden=(6,), dropout=0.1)
    head.set_standardisation(torch.randn(64, DIM))
    frozen, network = FrozenBackbone(feature_extractor(ScratchResNet()), head), ScratchResNet()
    for module in (frozen.backbone, network):  # non-trivial batch-norm statistics
        module.train()
        with torch.no_grad():
            module(torch.randn(16, 3, SIZE, SIZE))
    frozen.eval(), network.eval()
    train = pd.read_csv(demo / "train.csv")
    config, stopwords = TextConfig(), bundled_stopwords()
    pre = Preprocessor(config, stopwords_of(stopwords), download=False)
    vocab = build_vocab(pre.tokenize_all(train["Caption"]))
    lstms = [build_lstm(LstmConfig(vocab_size=len(vocab), embed_dim=8, hidden_dim=8), seed=i).eval() for i in range(2)]
    rng = np.random.default_rng(0)
    y = (rng.random((60, N_LABELS)) < 0.3).astype(np.uint8)
    p1, p2 = rng.random((60, N_LABELS)), rng.random((60, N_LABELS))
    fusion = fit_fusion(FusionMethod("per-label λ", "label_average", "label"), y, p1, p2)
    encoding = CaptionEncoding(config, vocab, stopwords, pre.normalizer_name)
    return {"B": frozen, "A": network, "lstms": lstms, "fusion": fusion, "encoding": encoding, "pre": pre,
            "vocab": vocab}
