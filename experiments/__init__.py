"""Everything around the model: running it at scale, fitting it, analysing and showing it.

One sub-package per role (``running``, ``inference``, ``analysis``, ``presentation``) and
the ``innogrid`` command line (``experiments.cli``) on top; experiments/README.md has the
map. The model package (``model``) never imports this one.
"""
