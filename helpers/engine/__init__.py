"""The engine: what every model shares — device and precision policy, the one training loop, the one inference loop.

device (pick_device, choose_precision, ...), fit (fit, TrainConfig, checkpoint_path), inference (predict_proba and
the image-inference loops), losses (the multi-label losses fit trains with).
"""
