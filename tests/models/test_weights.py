"""models.weights: a weights file that carries a pickled object is refused, and the object never runs."""
from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from helpers.models.weights import FORMAT, FORMAT_VERSION, WeightsFileError, load_weights, save_weights


class Payload:
    """Unpickling this object creates the marker file: proof that code from the file ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_weights_file_with_a_pickled_object_is_refused_and_the_object_never_runs(tmp_path):
    marker = tmp_path / "ran"
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": "lstm", "config": {"x": Payload(marker)},
               "state_dict": {"w": torch.zeros(2)}, "extra": {}}
    path = tmp_path / "evil.pt"
    torch.save(payload, path)
    with pytest.raises(WeightsFileError, match="evil.pt: cannot be read as a weights file"):
        load_weights(path, kind="lstm")
    assert not marker.exists(), "load_weights unpickled an arbitrary object"
    torch.load(path, weights_only=False)  # the probe works: a full unpickling does run it
    assert marker.exists()


def test_a_plain_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "plain.pt"
    path.write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(WeightsFileError, match="plain.pt"):
        load_weights(path)
    assert not marker.exists()


def test_a_saved_file_round_trips_its_kind_config_weights_and_extra(tmp_path):
    state = {"w": torch.arange(3.0), "n": torch.tensor([2])}
    path = save_weights(tmp_path / "m.pt", kind="joint", config={"a": [1, 2]}, state_dict=state, extra={"h": 1.5})
    loaded = load_weights(path, kind="joint")
    assert (loaded.kind, loaded.config, loaded.extra) == ("joint", {"a": [1, 2]}, {"h": 1.5})
    assert torch.equal(loaded.state_dict["w"], state["w"]) and torch.equal(loaded.state_dict["n"], state["n"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]


def test_weights_file_round_trip_and_errors(tmp_path):
    model = torch.nn.Linear(3, 2)
    path = save_weights(tmp_path / "m.pt", kind="toy", config={"in": 3, "sizes": (3, 2)}, state_dict=model.state_dict(),
                        extra={"history": [{"epoch": 1, "loss": 0.5}]})
    loaded = load_weights(path, kind="toy")
    assert loaded.config == {"in": 3, "sizes": (3, 2)} and loaded.extra["history"][0]["epoch"] == 1
    assert torch.equal(loaded.state_dict["weight"], model.weight.detach())
    with pytest.raises(WeightsFileError, match="expected 'lstm'"):
        load_weights(path, kind="lstm")
    with pytest.raises(WeightsFileError, match="not found"):
        load_weights(tmp_path / "none.pt")
    payload = torch.load(path, weights_only=True)
    torch.save({**payload, "format_version": 99}, tmp_path / "future.pt")
    with pytest.raises(WeightsFileError, match="version 99"):
        load_weights(tmp_path / "future.pt")
    (tmp_path / "cut.pt").write_bytes(path.read_bytes()[:200])
    with pytest.raises(WeightsFileError, match="cut.pt: cannot be read"):
        load_weights(tmp_path / "cut.pt")
    torch.save({"weight": model.weight}, tmp_path / "bare.pt")
    with pytest.raises(WeightsFileError, match="no 'bimodal-weights' header"):
        load_weights(tmp_path / "bare.pt")
