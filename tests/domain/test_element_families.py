"""Every element type has its three parts, in the same family on each side.

A type's model lives in `domain/flows/<family>.py` (a member of `ElementType` in
`domain/flows/document.py`), its check in `domain/flows/check_<family>.py` (`@checks`) and
its handler in `domain/journey/elements/<family>.py` (`@builds`; its `uniform(moment)` says
when the set-based paths may move it). See src/tidings/domain/AGENTS.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_args

import pytest

from tidings.domain.flows import ELEMENT_TYPES, ElementType, validate  # noqa: F401  (registers checks)
from tidings.domain.flows.checker import CHECKS
from tidings.domain.journey.elements import BUILDERS

FAMILIES = ("messages", "calls", "waits", "branches", "actions")
MODELS: dict[str, type[Any]] = {
    get_args(model.model_fields["type"].annotation)[0]: model for model in get_args(ElementType)
}


def lacking(registry: Mapping[type[Any], object]) -> list[str]:
    """The element types whose model the registry has no entry for."""
    return [name for name, model in MODELS.items() if model not in registry]


def family(module: str, prefix: str) -> str:
    return module.removeprefix(prefix)


def test_the_list_of_types_is_the_unions() -> None:
    assert tuple(MODELS) == ELEMENT_TYPES


@pytest.mark.parametrize("name", ELEMENT_TYPES)
def test_every_type_has_a_model_in_a_family(name: str) -> None:
    model = MODELS[name]
    assert family(model.__module__, "tidings.domain.flows.") in FAMILIES, (
        f"{name}: put {model.__name__} in src/tidings/domain/flows/<family>.py, "
        f"a family of {FAMILIES}"
    )


@pytest.mark.parametrize("name", ELEMENT_TYPES)
def test_every_type_has_a_check_in_its_family(name: str) -> None:
    model = MODELS[name]
    where = f"src/tidings/domain/flows/check_{family(model.__module__, 'tidings.domain.flows.')}.py"
    assert model in CHECKS, f"{name}: add a @checks({model.__name__}) function to {where}"
    check = CHECKS[model]
    assert check.__module__ == where.removeprefix("src/").removesuffix(".py").replace("/", "."), (
        f"{name}: its check is in {check.__module__}; move it to {where}"
    )


@pytest.mark.parametrize("name", ELEMENT_TYPES)
def test_every_type_has_a_handler_in_its_family(name: str) -> None:
    model = MODELS[name]
    fam = family(model.__module__, "tidings.domain.flows.")
    where = f"src/tidings/domain/journey/elements/{fam}.py"
    assert model in BUILDERS, f"{name}: add a @builds({model.__name__}) handler to {where}"
    assert BUILDERS[model].__module__ == f"tidings.domain.journey.elements.{fam}", (
        f"{name}: its handler is in {BUILDERS[model].__module__}; move it to {where}"
    )


def test_the_registries_hold_only_element_types() -> None:
    assert set(CHECKS) == set(MODELS.values())
    assert set(BUILDERS) == set(MODELS.values())


def test_a_type_without_a_check_or_handler_is_named() -> None:
    # What the tests above catch: a type dropped from a registry shows up as lacking.
    assert lacking(CHECKS) == []
    assert lacking(BUILDERS) == []
    for registry in (CHECKS, BUILDERS):
        partial = {model: entry for model, entry in registry.items() if model is not MODELS["wait"]}
        assert lacking(partial) == ["wait"]
