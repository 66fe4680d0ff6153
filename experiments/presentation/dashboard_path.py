"""Where the dashboard module lives (importing it would build a model: this does not)."""

from pathlib import Path

DASHBOARD = Path(__file__).resolve().with_name("dashboard.py")
