"""helpers.report.size_budget: the predictor measured from its own tensors (table21, table10 sizes)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from helpers.fusion import methods
from helpers.models import weights as model_size
from helpers.predictor.file import CaptionEncoding, ModelPart, PredictorFile, TextPart
from helpers.report import size_budget


def test_half_precision_state_dict_keeps_predictions_and_halves_size():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.BatchNorm1d(64),
                                torch.nn.Linear(64, 18)).eval()
    state = model.state_dict()
    half = model_size.to_half(state)
    assert half["0.weight"].dtype == torch.float16
    assert half["2.num_batches_tracked"].dtype == torch.int64
    assert model_size.tensor_bytes(half, half=True) < 0.51 * model_size.tensor_bytes(state) + 64
    x = torch.randn(256, 32)
    with torch.no_grad():
        before = torch.sigmoid(model(x))
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in half.items()})
        after = torch.sigmoid(model(x))
    assert (before - after).abs().max() < 5e-3
    assert ((before >= 0.5) != (after >= 0.5)).float().mean() < 0.01


def _file_with(vocab=("a", "bb")) -> tuple[PredictorFile, torch.nn.Module]:
    from helpers.models.lstm import LstmConfig, build_lstm
    from helpers.text.preprocessing import TextConfig

    config = LstmConfig(vocab_size=len(vocab) + 2, embed_dim=4, hidden_dim=4)
    lstm = build_lstm(config, seed=0)
    text = TextPart([ModelPart.of("lstm", config.to_state(), lstm)], CaptionEncoding(TextConfig(), list(vocab), []))
    fusion = methods.fit_fusion(methods.FusionMethod("text", "text", "fixed"), np.eye(18, dtype=np.uint8)[:4],
                                np.full((4, 18), 0.5), np.full((4, 18), 0.5))
    return PredictorFile(fusion, text=text), lstm


def test_components_count_parameters_not_buffers_and_every_stored_tensor():
    file, lstm = _file_with()
    table = size_budget.predictor_components(file)
    assert table["component"].tolist() == ["caption model 1 (lstm)", "caption dictionaries (2 words)"]
    assert table["parameters"].iloc[0] == model_size.count_parameters(lstm)
    assert table["float32_MB"].iloc[0] == model_size.tensor_bytes(lstm.state_dict()) / model_size.MB
    assert table["float16_MB"].iloc[0] == pytest.approx(table["float32_MB"].iloc[0] / 2)
    assert table["float32_MB"].iloc[1] == (len("a") + 1 + len("bb") + 1) / model_size.MB  # UTF-8 bytes + separator
    total = size_budget.predictor_size(file)
    assert total["float32_MB"] == pytest.approx(table["float32_MB"].sum())
    assert total["parameters"] == model_size.count_parameters(lstm)


def test_the_budget_is_a_strict_cap_and_the_finding_says_over_when_over():
    def table(mb):
        return size_budget.with_total(pd.DataFrame([{"model": "predictor", "component": "x", "parameters": 1,
                                                     "float32_MB": mb, "float16_MB": mb / 2}]))

    assert size_budget.fits_at_float32(table(99.99)) and not size_budget.fits_at_float32(table(100.0))
    finding = size_budget.budget_finding(table(150.0))
    assert "150 MB, OVER the 100 MB budget at float32" in finding and "75 MB, within" in finding
