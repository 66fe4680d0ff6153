"""Where the dashboard module lives, without importing it (and Solara and matplotlib with it)."""

from pathlib import Path

DASHBOARD = Path(__file__).resolve().with_name("dashboard.py")
