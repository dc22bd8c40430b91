"""helpers.core.profiles: the profiles and the reductions they describe."""
from __future__ import annotations

import pytest

from helpers.core.profiles import PROFILE_NAMES, describe_reductions, get_profile


def test_reductions_are_derived_from_the_settings():
    cpu = describe_reductions(get_profile("cpu"), "cnn")
    cpu_size, full_size = get_profile("cpu").cnn.image_size, get_profile("full").cnn.image_size
    assert f"`image_size`: **{cpu_size}** (full profile: {full_size})" in cpu
    assert "everywhere" in describe_reductions(get_profile("full"), "lstm")


def test_profiles():
    assert PROFILE_NAMES == ("smoke", "cpu", "full")
    full = get_profile("full")
    assert full.cnn.image_size == 224 and full.lstm.ablation_epochs == 20 and len(full.lstm.seeds) == 3
    assert get_profile("smoke").demo.n_train < get_profile("cpu").demo.n_train
    with pytest.raises(ValueError, match="unknown profile"):
        get_profile("gpu")
