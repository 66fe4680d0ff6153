"""Shipped geography data (see README.md in this folder)."""
