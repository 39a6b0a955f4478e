"""The long-running processes collect garbage less often (tidings/runtime.py)."""

from __future__ import annotations

import gc

from tidings.runtime import YOUNG, tune_gc


def test_tuning_freezes_what_start_made_and_spaces_young_collections() -> None:
    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_threshold()[0] == YOUNG > before[0]
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
