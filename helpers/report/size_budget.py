"""The size of a predictor: what each network and dictionary of a predictor file takes, against the 100 MB cap.

One measurement for table21 (the chosen predictor, component by component) and for table10's size columns
(the predictor each row would need): a network's parameters are those of the network rebuilt from its part
(helpers.models.weights.count_parameters: batch-norm running statistics are buffers, not parameters), its
megabytes those of every tensor the file stores for it (helpers.models.weights.tensor_bytes) at float32 and
at float16 (floating tensors can be stored in half precision and loaded back to float32 for computing),
a caption dictionary takes its words' UTF-8 bytes, and a pretrained caption encoder's tokenizer its saved files'
bytes.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from helpers.core.seeding import seeded
from helpers.models.registry import build_part
from helpers.models.weights import MB, count_parameters, tensor_bytes
from helpers.predictor.file import ModelPart, PredictorFile

BUDGET_MB = 100.0
COLUMNS = ["model", "component", "parameters", "float32_MB", "float16_MB"]


def part_size(part: ModelPart, slot: str) -> dict[str, Any]:
    """{"parameters", "float32_MB", "float16_MB"} of one network of a predictor file (slot: its registry kind)."""
    with seeded():  # the rebuilt network's initial weights are never used: leave the caller's generators alone
        network = build_part(part.to_state(), slot, f"{part.kind} part")
    return {"parameters": count_parameters(network), "float32_MB": tensor_bytes(part.state_dict) / MB,
            "float16_MB": tensor_bytes(part.state_dict, half=True) / MB}


def predictor_components(file: PredictorFile, model: str = "predictor") -> pd.DataFrame:
    """One row per network of the file (its parameters and MB at float32 / float16) and one for the caption
    dictionaries (with_total adds the total): table21's rows."""
    rows = []

    def add(component: str, part: ModelPart | None, slot: str) -> None:
        if part is not None:
            rows.append({"model": model, "component": f"{component} ({part.kind})", **part_size(part, slot)})

    if file.image is not None:
        add("image model", file.image.model, "image")
        add("image features", file.image.features, "features")
    for i, part in enumerate(file.text.models if file.text is not None else []):
        add(f"caption model {i + 1}", part, "lstm")
    if file.joint is not None:
        add(file.joint.name, file.joint.model, "joint")
    if file.encoder is not None:
        add("caption encoder", file.encoder.model, "text_encoder")
        tokenizer_mb = file.encoder.tokenizer_bytes / MB
        rows.append({"model": model, "component": f"caption encoder's tokenizer ({len(file.encoder.tokenizer_files)} "
                     "files)", "parameters": 0, "float32_MB": tokenizer_mb, "float16_MB": tokenizer_mb})
    vocabs = [section.encoding.vocab for section in (file.text, file.joint) if section is not None]
    text_mb = sum(len(w.encode("utf-8")) + 1 for vocab in vocabs for w in vocab) / MB
    rows.append({"model": model, "component": f"caption dictionaries ({sum(map(len, vocabs))} words)",
                 "parameters": 0, "float32_MB": text_mb, "float16_MB": text_mb})
    return pd.DataFrame(rows, columns=COLUMNS)


def predictor_size(file: PredictorFile) -> dict[str, float]:
    """{"parameters", "float32_MB", "float16_MB"}: the total of predictor_components (with_total's last row)."""
    total = with_total(predictor_components(file)).iloc[-1]
    return {"parameters": int(total["parameters"]), "float32_MB": float(total["float32_MB"]),
            "float16_MB": float(total["float16_MB"])}


def with_total(table: pd.DataFrame, budget_mb: float = BUDGET_MB) -> pd.DataFrame:
    """The budget table plus one total row (everything needed to predict)."""
    total = {"model": "total", "component": f"everything needed to predict (budget {budget_mb:g} MB)",
             "parameters": int(table["parameters"].sum()), "float32_MB": float(table["float32_MB"].sum()),
             "float16_MB": float(table["float16_MB"].sum())}
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


def fits_at_float32(table: pd.DataFrame, budget_mb: float = BUDGET_MB) -> bool:
    """Whether a with_total table's float32 total is strictly under the budget (at exactly the budget: no)."""
    return bool(float(table[table["model"] == "total"].iloc[0]["float32_MB"]) < budget_mb)


def budget_finding(table: pd.DataFrame, budget_mb: float = BUDGET_MB) -> str:
    """Whether the total fits the budget at each precision (from a with_total table)."""
    total = table[table["model"] == "total"].iloc[0]

    def verdict(mb: float) -> str:
        return f"{mb:.3g} MB, {'within' if mb < budget_mb else 'OVER'} the {budget_mb:g} MB budget"

    return (f"Everything needed to predict takes {verdict(float(total['float32_MB']))} at float32 and "
            f"{verdict(float(total['float16_MB']))} at float16.")


def sizes_by_row(files: Mapping[str, PredictorFile | None]) -> dict[str, dict[str, float]]:
    """{row name: predictor_size} for table10 (None: a row that needs no model, such as the trivial baseline)."""
    return {name: predictor_size(file) for name, file in files.items() if file is not None}
