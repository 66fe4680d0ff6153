"""Analysis of many runs: what they say about the facts, the policies and the parameters.

Pattern scores and validation, scenario comparison and robustness, projections, global
sensitivity analysis (the command and its indices), scenario discovery (PRIM) and the EMA
Workbench adapter.
"""
