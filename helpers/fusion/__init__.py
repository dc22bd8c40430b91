"""Late fusion of the models' probabilities (notebook 05), one job per module.

- inputs:    every source's validation / test probabilities, aligned by ImageID; producers' history names.
- average:   the reference's weighted average and its λ sweep.
- cutoffs:   cut-off rules, fast scores, the empty-row fallback.
- decision:  the per-row samples-F1 rule (plug-in expected F1) and Platt calibration.
- logistic:  the vectorised Newton solver of the learned (logistic) fusion.
- methods:   FusionMethod (a config) and FittedFusion (plain arrays, saved as .npz).
- crossfit:  out-of-fold scoring, the choice, the final refit.
- catalogue: the methods table11 compares.
- tables:    bootstrap intervals, the trivial baseline row, table10.
"""
