"""Instruction templates: strict variables, the sandbox, files, lazy jinja2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agentkit.errors import UserError
from agentkit.templates import Template


def test_render() -> None:
    t = Template("Hello {{ name }}{% if vip %}, welcome back{% endif %}!")
    assert t.render({"name": "Ada", "vip": True}) == "Hello Ada, welcome back!"
    assert t.render({"name": "<b>", "vip": False}) == "Hello <b>!"  # no HTML escaping


def test_missing_variable_is_an_error() -> None:
    t = Template("Hello {{ name }}", name="greeting")
    with pytest.raises(UserError, match=r"'greeting'.*'name' is undefined"):
        t.render({})
    with pytest.raises(UserError):
        Template("{{ user.email }}").render({"user": {}})


def test_syntax_error_at_creation() -> None:
    with pytest.raises(UserError, match="line 1"):
        Template("{% if %}")
    with pytest.raises(UserError, match="str"):
        Template(b"bytes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ x.__class__.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ ''.format.__self__ }}",
    ],
)
def test_sandbox_blocks_python_internals(source: str) -> None:
    t = Template(source, sandboxed=True)
    with pytest.raises(UserError):
        t.render({"x": 1})


def test_sandbox_still_renders_normal_templates() -> None:
    t = Template("{{ items | join(', ') | upper }}", sandboxed=True)
    assert t.render({"items": ["a", "b"]}) == "A, B"
    assert "sandboxed" in repr(t)


def test_from_file(tmp_path: Path) -> None:
    path = tmp_path / "system.j2"
    path.write_text("你是{{ role }}。\n", encoding="utf-8")
    t = Template.from_file(path)
    assert t.render({"role": "天气助手"}) == "你是天气助手。\n"
    assert t.name == str(path)
    with pytest.raises(UserError, match="Cannot read"):
        Template.from_file(tmp_path / "missing.j2")


def test_jinja2_imported_only_when_a_template_is_made() -> None:
    code = (
        "import sys, agentkit.agent; assert 'jinja2' not in sys.modules; "
        "from agentkit.templates import Template; assert 'jinja2' not in sys.modules; "
        "Template('x'); assert 'jinja2' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------- render failures and size


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("{{ 1 / 0 }}", "ZeroDivisionError"),
        ("{{ 1 + 'a' }}", "TypeError"),
        ("{{ 2.0 ** 10000 }}", "OverflowError"),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "RecursionError"),
        ("{{ 'abc'.index('z') }}", "ValueError"),
    ],
)
@pytest.mark.parametrize("sandboxed", [True, False])
def test_every_render_failure_is_a_user_error(source: str, why: str, sandboxed: bool) -> None:
    t = Template(source, sandboxed=sandboxed, name="prompt")
    with pytest.raises(UserError, match=rf"'prompt' failed to render \({why}") as info:
        t.render({"x": [1]})
    assert info.value.__cause__ is None and info.value.__suppress_context__


@pytest.mark.parametrize(
    "attack",
    [
        "{{ 'a' * 10**9 }}",
        "{{ [0] * 10**9 }}",
        "{{ ''|center(10**9) }}",
        "{{ 'a'|indent(10**9) }}",
        "{{ 'x'.ljust(10**9) }}",
        "{{ '%999999999d' % 1 }}",
        "{{ '{:999999999}'.format(1) }}",
        "{{ 7 ** 10000000 }}",
        "{{ 2**16000 * 2**16000 * 2**16000 }}",
    ],
)
def test_sandboxed_templates_cannot_allocate_without_bound(attack: str) -> None:
    import resource
    import time

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.monotonic()
    with pytest.raises(UserError, match="size limit"):
        Template(attack, sandboxed=True).render({})
    assert time.monotonic() - start < 1.0
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 50_000  # the attacks allocate 1 GB or more unchecked


@pytest.mark.parametrize("sandboxed", [True, False])
def test_rendered_text_is_limited_to_max_chars(sandboxed: bool) -> None:
    loops = (
        "{% for i in range(100000) %}{% for j in range(100000) %}0123456789{% endfor %}{% endfor %}"
    )
    with pytest.raises(UserError, match="more than max_chars=1,000,000"):
        Template(loops, sandboxed=sandboxed).render({})
    small = Template("{{ text }}", sandboxed=sandboxed, max_chars=10)
    assert small.render({"text": "0123456789"}) == "0123456789"
    with pytest.raises(UserError, match="max_chars=10 "):
        small.render({"text": "0123456789!"})
    assert Template("{{ t }}", max_chars=None).render({"t": "x" * 2_000_000}) == "x" * 2_000_000
    with pytest.raises(UserError, match="max_chars"):
        Template("x", max_chars=0)


def test_the_bounded_sandbox_still_does_ordinary_arithmetic_and_formatting() -> None:
    t = Template(
        "{{ 3 * 'ab' }} {{ 2 ** 10 }} {{ '%5.2f' % x }} {{ '{:>4}'.format('a') }} "
        "{{ 'a'|center(5) }}|{{ items|join(', ') }}",
        sandboxed=True,
    )
    assert t.render({"x": 3.14159, "items": ["a", "b"]}) == "ababab 1024  3.14    a   a  |a, b"
