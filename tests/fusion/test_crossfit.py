"""helpers.fusion.crossfit: rows scored only by fits that never saw them; the best method."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.data.split import kfold_indices
from helpers.fusion import crossfit, methods
from helpers.fusion import methods as catalogue
from tests.fusion_fakes import fake_pair, fake_truth, fusion_data  # noqa: F401


def test_cross_fit_scores_rows_only_by_fits_that_did_not_see_them(data):
    Y, p_img, p_txt = data
    folds = kfold_indices(Y, 3, seed=0)
    method = methods.FusionMethod("avg", "average", "label")
    result = crossfit.cross_fit(method, Y, p_img, p_txt, folds)
    for (fit_rows, held), fitted in zip(folds, result.fits, strict=True):
        refit = methods.fit_fusion(method, Y[fit_rows], p_img[fit_rows], p_txt[fit_rows])
        assert np.array_equal(refit.cutoffs, fitted.cutoffs)
        assert np.array_equal(result.pred[held], refit.predict(p_img[held], p_txt[held]))
    with pytest.raises(ValueError, match="exactly once"):
        crossfit.cross_fit(method, Y, p_img, p_txt, folds[:2])


def test_best_fusion_beats_both_single_models_out_of_fold_and_is_deterministic(data):
    Y, p_img, p_txt = data
    folds = kfold_indices(Y, 3, seed=0)
    methods = catalogue.standard_methods()
    table, _ = crossfit.compare_methods(methods, Y, {"image": p_img, "text": p_txt}, folds)
    chosen = crossfit.best_method(table, methods, "samples_f1")
    scores = table.set_index("method")
    for single in methods[:4]:
        assert scores.loc[chosen.name, "samples_f1"] > scores.loc[single.name, "samples_f1"]
    again, _ = crossfit.compare_methods(methods, Y, {"image": p_img, "text": p_txt}, folds)
    pd.testing.assert_frame_equal(table, again)
    with_fallback = table[table["fallback"].fillna(True).astype(bool)]  # or the row rule
    assert (with_fallback["empty_rows"] == 0).all()
