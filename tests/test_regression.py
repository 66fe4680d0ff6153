import json
from pathlib import Path

import numpy as np

from tests.regression import BASELINE, regression_summary

ROOT = Path(__file__).resolve().parent.parent


def test_matches_committed_baseline():
    expected = json.loads((ROOT / BASELINE).read_text())
    got = regression_summary()
    for col, values in expected["region"].items():
        np.testing.assert_allclose(got["region"][col], values, rtol=1e-9, atol=1e-12,
                                   err_msg=f"region.{col} moved; if intended, run "
                                           "python -m tests.update_baseline")
    assert got["final_index"].keys() == expected["final_index"].keys()
    cities = sorted(expected["final_index"])
    np.testing.assert_allclose([got["final_index"][c] for c in cities],
                               [expected["final_index"][c] for c in cities], rtol=1e-9)
