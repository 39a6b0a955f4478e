"""Liquid templates: checking, the fast path (same output as Liquid) and the sandbox."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.domain.templates import (
    MAX_OUTPUT,
    RenderError,
    TemplateSyntaxError,
    check_template,
    compile_template,
)

PERSON = {"person": {"firstName": "Ana", "tags": ["vip"]}, "cartValue": 80.5}


def test_valid_templates() -> None:
    assert check_template("Hi {{ person.firstName | default: 'there' }}!") is None
    assert check_template("{% for t in person.tags %}{{ t | upcase }}{% endfor %}") is None
    assert check_template("plain text, no placeholders") is None


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("Hi {{ person.firstName", "expected '}}', found end of file (line 1, column 4)"),
        ("line one\n  {% if x %}", "expected tag endif"),
        ("a\nb {{ x | shout }}", "unknown filter 'shout' (line 2, column 10)"),
        ("{% include '/etc/passwd' %}", "the include tag is not allowed (line 1, column 4)"),
        ("{% render 'secrets' %}", "the render tag is not allowed"),
        ("{% frobnicate %}", "frobnicate"),
    ],
)
def test_syntax_errors_say_what_and_where(source: str, message: str) -> None:
    error = check_template(source)
    assert error is not None
    assert message in error
    with pytest.raises(TemplateSyntaxError) as caught:
        compile_template(source)
    assert caught.value.message == error


def test_plain_outputs_take_the_fast_path() -> None:
    for source in [
        "Hi {{ person.firstName }}, {{cartValue}} EUR",
        '{{ person.firstName | default: "there" }}',
        "{{ person.firstName | default: 'there' }}",
        "no placeholders",
        "",
    ]:
        assert compile_template(source).fast, source
    for source in [
        "{% if x %}y{% endif %}",
        "{{ person.firstName | upcase }}",
        "{{ person.tags.size }}",
        "{{ person.tags.first }}",
        "{{ true }}",
        "{{- person.firstName -}}",
        "{{ person['firstName'] }}",
        '{{ x | default: "a|b" }}',
    ]:
        assert not compile_template(source).fast, source


def test_fast_path_renders() -> None:
    template = compile_template("Hi {{ person.firstName | default: 'there' }}, {{ cartValue }}")
    assert template.render(PERSON) == "Hi Ana, 80.5"
    assert template.render({}) == "Hi there, "
    assert template.render({"person": {"firstName": ""}, "cartValue": True}) == "Hi there, true"


values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("abc"), inner, max_size=3)
    ),
    max_leaves=6,
)
paths = st.lists(st.sampled_from("abc"), min_size=1, max_size=3).map(".".join)
outputs = st.tuples(paths, st.none() | st.text(alphabet="xyz !", max_size=5)).map(
    lambda p: "{{ " + p[0] + (f' | default: "{p[1]}"' if p[1] is not None else "") + " }}"
)
sources = st.lists(outputs | st.text(alphabet="Hi, é\n", max_size=5), max_size=5).map("".join)


@settings(max_examples=300, deadline=None)
@given(sources, st.dictionaries(st.sampled_from("abc"), values, max_size=3))
def test_fast_path_renders_what_liquid_renders(source: str, data: dict[str, Any]) -> None:
    fast = compile_template(source)
    assert fast.fast
    assert fast.render(data) == compile_template(source, fast=False).render(data)


def test_liquid_path_renders() -> None:
    template = compile_template(
        "{% if cartValue > 50 %}Big{% else %}Small{% endif %} "
        "{% for t in person.tags %}{{ t | upcase }}{% endfor %}"
    )
    assert template.render(PERSON) == "Big VIP"


# -- the sandbox ------------------------------------------------------------------------


def test_cannot_read_files(tmp_path: Any) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret")
    for tag in ("include", "render"):
        source = f"{{% {tag} '{secret}' %}}"
        assert check_template(source) is not None
        with pytest.raises(TemplateSyntaxError):
            compile_template(source)


def test_data_is_read_as_keys_never_as_attributes() -> None:
    class Secret:
        password = "s3cret"

    template = compile_template("{{ x.password }}{% if x %}{% endif %}")
    assert template.render({"x": Secret()}) == ""


def _fails_fast(source: str, data: dict[str, Any] | None = None) -> RenderError:
    template = compile_template(source)
    started = time.perf_counter()
    with pytest.raises(RenderError) as caught:
        template.render(data or {})
    assert time.perf_counter() - started < 2.0
    return caught.value


def test_loops_are_bounded() -> None:
    error = _fails_fast("{% for i in (1..100000000) %}x{% endfor %}")
    assert "loop iteration limit" in error.message
    nested = "{% for i in (1..1000) %}{% for j in (1..1000) %}{% endfor %}{% endfor %}"
    assert "loop iteration limit" in _fails_fast(nested).message


def test_ranges_are_bounded() -> None:
    assert "range" in _fails_fast("{{ (1..1000000000) | join: ',' }}").message


def test_memory_is_bounded() -> None:
    doubling = (
        "{% assign s = 'xxxxxxxxxxxxxxxx' %}"
        "{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}{{ s }}"
    )
    _fails_fast(doubling)
    capture = (
        "{% capture s %}{% for i in (1..9000) %}xxxxxxxxxxxxxxxxxxxxxxxx{% endfor %}"
        "{% endcapture %}"
    )
    assert "limit" in _fails_fast(capture).message


def test_output_is_bounded_on_both_paths() -> None:
    big = {"x": "y" * (MAX_OUTPUT + 1)}
    _fails_fast("{{ x }}", big)
    _fails_fast("{% if x %}{{ x }}{% endif %}", big)


def test_nesting_is_bounded() -> None:
    deep = "{% if x %}" * 200 + "{% endif %}" * 200
    assert check_template(deep) is not None


def test_date_filter_cannot_read_the_clock() -> None:
    assert "clock" in _fails_fast("{{ 'now' | date: '%Y' }}").message
    template = compile_template("{{ now | date: '%Y' }}")
    assert template.render({"now": "2026-01-05T09:00:00Z"}) == "2026"


def test_filter_failures_are_render_errors() -> None:
    _fails_fast("{{ 10 | divided_by: 0 }}")


def test_template_size_is_bounded() -> None:
    assert check_template("x" * 300_000) is not None


def test_line_ends_in_data_are_kept_on_both_paths() -> None:
    data = {"a": "one\r\ntwo\rthree"}
    assert compile_template("{{ a }}").render(data) == data["a"]
    assert compile_template("{% if a %}{{ a }}{% endif %}").render(data) == data["a"]
    assert (
        compile_template("{% capture c %}{{ a }}{% endcapture %}{{ c }}").render(data)
        == (data["a"])
    )


# -- hostile templates: every way out is closed, and each failure says why -----------------

BIG = {"big": "x" * 60_000}


@pytest.mark.parametrize(
    "source",
    [
        "{% include 'secret.txt' %}",
        "{% render 'secret.txt' %}",
        "{% if true %}{% include '/etc/passwd' %}{% endif %}",
        "{% liquid\ninclude '/etc/passwd' %}",
        "{% render '../../etc/passwd' with person as p %}",
    ],
)
def test_no_tag_reads_a_file(source: str) -> None:
    problem = check_template(source)
    assert problem is not None
    assert "not allowed" in problem or "unexpected tag" in problem or "unknown tag" in problem


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("{% tablerow i in (1..100000000) %}{{ i }}{% endtablerow %}", "loop iteration limit"),
        ("{% liquid\nfor i in (1..100000000)\necho i\nendfor %}", "loop iteration limit"),
        ("{% assign n = 999999999 %}{% for i in (1..n) %}{% endfor %}", "loop iteration limit"),
        (
            "{% for a in (1..100) %}{% for b in (1..100) %}{% for c in (1..100) %}"
            "{% endfor %}{% endfor %}{% endfor %}",
            "loop iteration limit",
        ),
    ],
)
def test_no_loop_runs_forever(source: str, words: str) -> None:
    assert words in _fails_fast(source).message


@pytest.mark.parametrize(
    "source",
    [
        # a filter chain over a large value, repeated: minutes of CPU without the budget
        "{% for i in (1..10000) %}{% assign n = big | split: '' | sort | join: '' | size %}"
        "{% endfor %}{{ n }}",
        "{% for i in (1..10000) %}{% assign n = big | split: '' | uniq | size %}{% endfor %}",
        "{% for i in (1..10000) %}{% assign n = big | upcase | size %}{% endfor %}{{ n }}",
    ],
)
def test_filters_have_a_work_budget(source: str) -> None:
    assert "too much work" in _fails_fast(source, BIG).message


def test_the_work_budget_is_per_render() -> None:
    template = compile_template("{% for i in (1..10) %}{{ big | upcase | size }}{% endfor %}")
    for _ in range(50):  # 50 renders of 1.2 M each: far more than one budget in total
        assert template.render(BIG) == "60000" * 10


@pytest.mark.parametrize(
    ("source", "words"),
    [
        # doubling a text, a list or a number until memory runs out
        (
            "{% assign s = 'xxxxxxxxxxxxxxxx' %}{% for i in (1..40) %}"
            "{% assign s = s | append: s %}{% endfor %}{{ s }}",
            "limit",
        ),
        (
            "{% assign a = 'a,b' | split: ',' %}{% for i in (1..40) %}"
            "{% assign a = a | concat: a %}{% endfor %}{{ a | size }}",
            "limit",
        ),
        (
            "{% assign n = 2 %}{% for i in (1..10000) %}{% assign n = n | times: n %}{% endfor %}"
            "{{ n }}",
            "limit",
        ),
        ("{{ big | replace: 'x', 'yy' }}", "at most 65536 characters"),
        ("{% for i in (1..10000) %}{{ big }}{% endfor %}", "output stream limit"),
        ("{% capture c %}{% for i in (1..100) %}{{ big }}{% endfor %}{% endcapture %}", "limit"),
        ("{{ (1..1000000000) | join: ',' }}", "range may hold at most"),
        ("{{ '9' | append: big | plus: 1 }}", "conversion limit"),
        ("{% assign r = (1..10) %}{{ r | concat: r }}", "concat filter cannot use"),
    ],
)
def test_no_template_exhausts_memory(source: str, words: str) -> None:
    assert words in _fails_fast(source, BIG).message
