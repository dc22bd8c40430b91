"""Late fusion of the models' probabilities (notebook 05): the rules, the methods, honest scoring, the inputs.

- rules:     the weighted average and its λ sweep, the logistic fit, cut-offs and the empty-row fallback, the
             per-row samples-F1 rule and Platt calibration;
- methods:   FusionMethod (a config), FittedFusion (plain arrays; to_state / from_state, as the predictor file
             stores it) and the methods table11 compares;
- crossfit:  out-of-fold scoring, the choice, the final refit;
- inputs:    every source's validation / test probabilities, aligned by ImageID; producers' history names.

The fusion tables and figures are in helpers.report.fusion.
"""
