"""The size budget (table21): weights files read through helpers.models.weights, the backbone row, the total."""
from __future__ import annotations

import pytest
import torch

from helpers.models.weights import WeightsFileError, save_weights, to_half
from helpers.report import size_budget


def test_size_budget_counts_files_extra_and_total(tmp_path):
    save_weights(tmp_path / "head.pt", kind="cnn_head", config={"a": 1},
                 state_dict={"w": torch.zeros(1000, 250), "steps": torch.zeros(3, dtype=torch.int64)})
    lstm = {"embedding.weight": torch.zeros(100, 10), "fc.weight": torch.zeros(18, 10)}
    save_weights(tmp_path / "lstm.pt", kind="lstm", config={"vocab_size": 100}, state_dict=lstm)
    save_weights(tmp_path / "lstm_fp16.pt", kind="lstm", config={"vocab_size": 100}, state_dict=to_half(lstm))
    summaries = {
        "cnn": {"weights": [str(tmp_path / "head.pt")], "size_bytes": 1_000_024 + 84_000_000},  # + a cached backbone
        "lstm": {"weights": ["lstm.pt", "lstm_fp16.pt"], "size_bytes": 4 * 1180},
    }
    table = size_budget.with_total(size_budget.size_budget(summaries, tmp_path, extra={"fusion parameters": 100}))
    rows = table.set_index("component")
    assert rows.loc["head.pt", "parameters"] == 250_000
    assert rows.loc["head.pt", "float32_MB"] == pytest.approx(1.000024)
    assert rows.loc["head.pt", "float16_MB"] == pytest.approx(0.500024)
    assert rows.loc["lstm.pt: embedding", "parameters"] == 1000 and rows.loc["lstm.pt: fc", "parameters"] == 180
    assert not rows.index.str.contains("fp16").any()  # the half-precision copy is not counted twice
    assert rows.loc[size_budget.BACKBONE_ROW, "float32_MB"] == pytest.approx(84.0)
    assert "torchvision" in size_budget.BACKBONE_ROW
    assert not any("fits" in c for c in table.columns)
    total = table[table["model"] == "total"].iloc[0]
    assert total["float32_MB"] == pytest.approx(1.000024 + 0.00472 + 84.0 + 0.0004)
    assert "within the 100 MB budget at float32" in size_budget.budget_sentence(table)


def test_budget_sentence_says_over_when_over(tmp_path):
    save_weights(tmp_path / "big.pt", kind="cnn_head", config={}, state_dict={"w": torch.zeros(30_000_000)})
    table = size_budget.with_total(size_budget.size_budget({"cnn": {"weights": ["big.pt"]}}, tmp_path))
    sentence = size_budget.budget_sentence(table)
    assert "120 MB, OVER the 100 MB budget at float32" in sentence and "60 MB, within" in sentence


def test_size_budget_names_a_missing_or_foreign_weight_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="gone.pt.*rerun the notebook"):
        size_budget.size_budget({"cnn": {"weights": ["gone.pt"], "size_bytes": 0}}, tmp_path)
    torch.save({"w": torch.zeros(3)}, tmp_path / "bare.pt")  # an old bare state_dict: no guessing of its keys
    with pytest.raises(WeightsFileError, match="bare.pt"):
        size_budget.size_budget({"cnn": {"weights": ["bare.pt"]}}, tmp_path)
