"""The long-running processes collect garbage less often and hand the interpreter's lock
over sooner (tidings/runtime.py)."""

from __future__ import annotations

import gc
import sys

import pytest

from tidings.runtime import SWITCH_INTERVAL, YOUNG, tune_runtime


def test_tuning_freezes_what_start_made_spaces_collections_and_shortens_switches() -> None:
    before, interval = gc.get_threshold(), sys.getswitchinterval()
    try:
        tune_runtime()
        assert gc.get_threshold()[0] == YOUNG > before[0]
        assert gc.get_freeze_count() > 0
        assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL)
        assert interval > SWITCH_INTERVAL
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
        sys.setswitchinterval(interval)
