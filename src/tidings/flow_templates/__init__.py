"""Predefined flow templates, one JSON file each (see `services/templates.py`)."""
