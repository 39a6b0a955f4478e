"""`PersonView`: the person as expressions and templates see them, built when read."""

from __future__ import annotations

from tidings.domain.journey import Person
from tidings.domain.journey.run import PersonView, person_data
from tidings.domain.templates import compile_template

ANA = Person(
    id=7,
    external_id="ana",
    attributes={"firstName": "Ana", "points": 12},
    tags=frozenset({"vip", "early"}),
    phones=("+385911111111",),
    emails=("ana@example.com",),
    timezone="Europe/Zagreb",
)


def test_the_view_is_the_persons_data() -> None:
    view = PersonView(ANA)
    assert dict(view) == person_data(ANA)
    assert view.get("firstName") == "Ana"
    assert view.get("nope") is None
    assert len(view) == len(person_data(ANA))


def test_templates_render_a_view_as_the_dict_it_stands_for() -> None:
    for source in (
        "{{ person }}",
        "{{ person.tags }} {{ person.points | default: 0 }}",
        "{{ person | size }} {{ person.emails | first }}",
        "{% for tag in person.tags %}{{ tag }};{% endfor %}{{ person.firstName | upcase }}",
    ):
        template = compile_template(source)
        expected = template.render({"person": person_data(ANA)})
        assert template.render({"person": PersonView(ANA)}) == expected, source
