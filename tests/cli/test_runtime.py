"""The long-running processes collect garbage less often, and an engine's process hands
the interpreter's lock over sooner (tidings/runtime.py)."""

from __future__ import annotations

import gc
import sys

import pytest

from tidings.runtime import ENGINE_SWITCH_INTERVAL, YOUNG, tune_runtime


@pytest.mark.parametrize("engine", [True, False], ids=["engine", "api"])
def test_tuning_freezes_what_start_made_spaces_collections_and_shortens_engine_switches(
    engine: bool,
) -> None:
    before, interval = gc.get_threshold(), sys.getswitchinterval()
    try:
        tune_runtime(engine=engine)
        assert gc.get_threshold()[0] == YOUNG > before[0]
        assert gc.get_freeze_count() > 0
        if engine:
            assert sys.getswitchinterval() == pytest.approx(ENGINE_SWITCH_INTERVAL)
            assert interval > ENGINE_SWITCH_INTERVAL
        else:
            assert sys.getswitchinterval() == interval
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
        sys.setswitchinterval(interval)
