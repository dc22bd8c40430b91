"""helpers.core.config: paths derive from the repository root and the parameters."""
from __future__ import annotations

from helpers.core.config import DATA_ROOT, REPO_ROOT, demo_data_dir, run_paths


def test_paths_derive_from_repo_root_and_parameters(tmp_path):
    default = run_paths(demo_data_dir(10, 5))
    assert default.data_dir == DATA_ROOT / "demo-10-5" and default.figures == REPO_ROOT / "figures"
    custom = run_paths(tmp_path / "data", tmp_path / "out")
    assert custom.train_csv == tmp_path / "data" / "train.csv"
    assert custom.images_dir == tmp_path / "data" / "data"
    assert custom.submission == tmp_path / "out" / "Predicted_labels.csv"
    assert custom.checkpoints.parent == custom.artifacts
