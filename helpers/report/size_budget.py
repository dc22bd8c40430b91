"""Size budget of the whole predictor: everything needed to label a new image and caption.

The assignment caps the stored model at 100 MB. Each component (weight files listed in the model
summaries, parts counted only in a summary's size_bytes such as a cached pretrained backbone,
and the fusion parameters) is shown at float32 and float16; floating tensors can be stored in
half precision with `to_half` and loaded back to float32 for computing.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import torch

BUDGET_MB = 100.0
MB = 1_000_000  # decimal megabytes, as file managers and the assignment count them


def to_half(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Copy of a state_dict with every floating tensor in float16 (integer buffers unchanged)."""
    return {k: v.half() if torch.is_floating_point(v) else v for k, v in state_dict.items()}


def to_float(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Copy of a state_dict with every floating tensor back in float32 (to load into a model)."""
    return {k: v.float() if torch.is_floating_point(v) else v for k, v in state_dict.items()}


def tensor_bytes(state_dict: Mapping[str, torch.Tensor], half: bool = False) -> int:
    """Bytes of the tensors' data, floating tensors counted at float32 (or float16 when half)."""
    total = 0
    for value in state_dict.values():
        if not torch.is_tensor(value):
            continue
        if torch.is_floating_point(value):
            total += value.numel() * (2 if half else 4)
        else:
            total += value.numel() * value.element_size()
    return total


def _state_of(obj: Any) -> dict[str, torch.Tensor] | None:
    """The tensors of a saved object: a state_dict, or a checkpoint of helpers.train.fit.fit."""
    if isinstance(obj, Mapping):
        for key in ("best_model", "model", "state_dict"):
            if isinstance(obj.get(key), Mapping):
                return _state_of(obj[key])
        tensors = {k: v for k, v in obj.items() if torch.is_tensor(v)}
        return tensors or None
    return None


def file_components(path: str | Path) -> list[dict[str, Any]]:
    """Sizes of one stored file: a tensor file split by top-level module (e.g. backbone, head, embedding),
    each at float32 / float16; any other file as it is on disk."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is listed as model weights but does not exist: rerun the notebook "
                                "that trained this model (same OUT_DIR)")
    state = None
    if path.suffix in (".pt", ".pth", ".bin"):
        state = _state_of(torch.load(path, map_location="cpu", weights_only=True))
    if state is None:
        size = path.stat().st_size
        return [{"component": path.name, "parameters": 0, "float32_bytes": size, "float16_bytes": size}]
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
    exceeds what the listed files hold (e.g. a frozen pretrained backbone kept in torchvision's
    cache), the rest is a row of its own, counted as float32 parameters.
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
            rows.append({"model": model, "component": "counted only in size_bytes (e.g. pretrained backbone)",
                         "parameters": rest // 4, "float32_bytes": rest, "float16_bytes": rest // 2})
    for name, n_params in (extra or {}).items():
        rows.append({"model": "fusion", "component": name, "parameters": int(n_params),
                     "float32_bytes": 4 * int(n_params), "float16_bytes": 2 * int(n_params)})
    table = pd.DataFrame(rows, columns=["model", "component", "parameters", "float32_bytes", "float16_bytes"])
    table["float32_MB"] = table["float32_bytes"] / MB
    table["float16_MB"] = table["float16_bytes"] / MB
    return table.drop(columns=["float32_bytes", "float16_bytes"])


def with_total(table: pd.DataFrame, budget_mb: float = BUDGET_MB) -> pd.DataFrame:
    """The budget table plus a total row and whether each precision fits under the budget."""
    total = {"model": "total", "component": f"everything needed to predict (budget {budget_mb:g} MB)",
             "parameters": int(table["parameters"].sum()), "float32_MB": float(table["float32_MB"].sum()),
             "float16_MB": float(table["float16_MB"].sum())}
    out = pd.concat([table, pd.DataFrame([total])], ignore_index=True)
    out["fits_budget_float32"] = out["float32_MB"] < budget_mb
    out["fits_budget_float16"] = out["float16_MB"] < budget_mb
    return out

