"""Presentation: figures, the HTML report of an output folder and the dashboard.

The dashboard is a Solara app; ``dashboard_path`` locates its file for ``innogrid viz``.
"""
