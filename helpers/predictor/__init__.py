"""The predictor: the trained system in one file that labels new images and captions.

- file:      the predictor file format (PredictorFile and its parts: to_state / from_state), its checks;
- build:     the predictor file built from what notebooks 02-04 hand over;
- inputs:    images and captions checked and turned into tensors and token ids;
- predictor: `Predictor` (load, predict), `label_csv` and `differing_rows`;
- cli:       `python -m helpers.predict`.
"""
