"""Rewrite the committed regression baseline (run deliberately, never from tests)."""

import json
from pathlib import Path

from tests.regression import BASELINE, regression_summary

if __name__ == "__main__":
    Path(BASELINE).write_text(json.dumps(regression_summary(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {BASELINE}")
