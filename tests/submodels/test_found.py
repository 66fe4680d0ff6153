import numpy as np
import pytest

from model.params import Params
from model.submodels.found import compute_founding_probability


def test_founding_probability():
    prm = Params().replace(p_found=0.002, found_culture_elast=1.0, found_vc_elast=0.5)
    p = compute_founding_probability(np.array([0.5, 1.0]), np.array([1.0, 0.0]),
                                     np.array([0.0, 1.0]), prm)
    assert p[0] == pytest.approx(0.002 * 2 ** 0.5)
    assert p[1] == pytest.approx(0.002 * 2 * 1 * 2)
