"""Inference: fitting the model to the facts.

The point calibration (``calibrate``), the posterior calibration by ABC-SMC
(``posterior``) and its diagnostics (``diagnostics``, ``toy``).
"""
