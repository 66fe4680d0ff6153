"""Inference: fitting the model to the facts (the posterior calibration and its diagnostics)."""
