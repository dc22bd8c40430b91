"""Size budget of the whole predictor: everything needed to label a new image and caption (table21).

The assignment caps the stored model at 100 MB. Each component is shown at float32 and float16:
the weights files the model notebooks list in their summaries (read with
helpers.models.weights.load_weights, split by top-level module), a pretrained backbone that is
not in those files but stored in torchvision's cache (the part of a summary's size_bytes the files
do not hold), and the fusion parameters. Floating tensors can be stored in half precision
(helpers.models.weights.to_half) and loaded back to float32 for computing.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from helpers.models.weights import MB, load_weights, tensor_bytes

# ---- from report/size_budget
BUDGET_MB = 100.0
BACKBONE_ROW = "pretrained backbone (stored in torchvision's cache, not in the weights file)"


def file_components(path: str | Path) -> list[dict[str, Any]]:
    """Sizes of one weights file, split by top-level module (e.g. backbone, head, embedding), at float32 / float16."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is listed as model weights but does not exist: rerun the notebook "
                                "that trained this model (same OUT_DIR)")
    state = load_weights(path).state_dict
    groups: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in state.items():
        groups.setdefault(key.split(".", 1)[0] if "." in key else "", {})[key] = value
    return [{"component": f"{path.name}: {prefix}" if prefix else path.name,
             "parameters": int(sum(v.numel() for v in part.values() if torch.is_floating_point(v))),
             "float32_bytes": tensor_bytes(part), "float16_bytes": tensor_bytes(part, half=True)}
            for prefix, part in groups.items()]


def _copies(paths: list[Path]) -> set[Path]:
    """Half-precision copies (<stem>_fp16.<ext>) listed beside their float32 file: counted once."""
    names = {p.name for p in paths}
    return {p for p in paths if p.stem.endswith("_fp16") and f"{p.stem[:-5]}{p.suffix}" in names}


def size_budget(summaries: Mapping[str, Mapping[str, Any]], out_dir: str | Path,
                extra: Mapping[str, int] | None = None) -> pd.DataFrame:
    """One row per component: model, component, parameters, float32 MB, float16 MB.

    summaries: {model: summary} with `weights` (paths, absolute or relative to out_dir; a listed
    <stem>_fp16 copy of a listed file is not counted twice) and `size_bytes`; when size_bytes
    exceeds what the listed files hold (a frozen pretrained backbone kept in torchvision's cache),
    the rest is a row of its own, counted as float32 parameters.
    extra: {component: number of float parameters}, such as the fusion's.
    """
    rows = []
    for model, summary in summaries.items():
        counted = 0
        paths = [Path(p) if Path(p).is_absolute() else Path(out_dir) / p for p in summary.get("weights", [])]
        copies = _copies(paths)
        for path in paths:
            if path in copies:
                continue
            for row in file_components(path):
                counted += row["float32_bytes"]
                rows.append({"model": model, **row})
        rest = int(summary.get("size_bytes", 0)) - counted
        if rest > 0:
            rows.append({"model": model, "component": BACKBONE_ROW, "parameters": rest // 4, "float32_bytes": rest,
                         "float16_bytes": rest // 2})
    for name, n_params in (extra or {}).items():
        rows.append({"model": "fusion", "component": name, "parameters": int(n_params),
                     "float32_bytes": 4 * int(n_params), "float16_bytes": 2 * int(n_params)})
    table = pd.DataFrame(rows, columns=["model", "component", "parameters", "float32_bytes", "float16_bytes"])
    table["float32_MB"] = table["float32_bytes"] / MB
    table["float16_MB"] = table["float16_bytes"] / MB
    return table.drop(columns=["float32_bytes", "float16_bytes"])


def with_total(table: pd.DataFrame, budget_mb: float = BUDGET_MB) -> pd.DataFrame:
    """The budget table plus one total row (everything needed to predict)."""
    total = {"model": "total", "component": f"everything needed to predict (budget {budget_mb:g} MB)",
             "parameters": int(table["parameters"].sum()), "float32_MB": float(table["float32_MB"].sum()),
             "float16_MB": float(table["float16_MB"].sum())}
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


def budget_sentence(table: pd.DataFrame, budget_mb: float = BUDGET_MB) -> str:
    """Whether the total fits the budget at each precision (from a with_total table)."""
    total = table[table["model"] == "total"].iloc[0]

    def verdict(mb: float) -> str:
        return f"{mb:.3g} MB, {'within' if mb < budget_mb else 'OVER'} the {budget_mb:g} MB budget"

    return (f"Everything needed to predict takes {verdict(float(total['float32_MB']))} at float32 and "
            f"{verdict(float(total['float16_MB']))} at float16.")


def backbone_rows(budget: pd.DataFrame, feature_model: str, for_model: str) -> pd.DataFrame:
    """The rows of `feature_model` that compute image features (components naming a backbone), listed under
    `for_model`: a model trained on cached features (the joint model) needs that backbone to predict."""
    rows = budget[budget["model"] == feature_model]
    backbone = rows[rows["component"].str.contains("backbone")]
    return (backbone if len(backbone) else rows).assign(model=for_model)
