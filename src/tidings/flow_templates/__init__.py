"""Predefined flow templates, one JSON file each (see `api/templates.py`)."""
