"""Instruction templates: strict variables, the sandbox, files, lazy jinja2."""

from __future__ import annotations

import subprocess
import sys
import time
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


# Each of these allocates a gigabyte or more, or spins for minutes, when nothing checks it.
_UNBOUNDED = [
    "{{ 'a' * 10**9 }}",
    "{{ [0] * 10**9 }}",
    "{{ ''|center(10**9) }}",
    "{{ 'a'|indent(10**9) }}",
    "{{ 'x'.ljust(10**9) }}",
    "{{ '%999999999d' % 1 }}",
    "{{ '{:999999999}'.format(1) }}",
    "{{ 7 ** 10000000 }}",
    "{{ 2**16000 * 2**16000 * 2**16000 }}",
    # doubling a string, with + and with ~
    "{% set a = 'a'*1000000 %}{% set b = a+a %}{% set c = b+b %}{% set d = c+c %}"
    "{% set e = d+d %}{% set f = e+e %}{% set g = f+f %}{{ g|length }}",
    "{% set a = 'a'*600000 %}{% set b = a~a %}{% set c = b~b %}{% set d = c~c %}{{ d|length }}",
    "{% set a = [0]*600000 %}{% set b = a+a %}{% set c = b+b %}{{ c|length }}",
    # amplifying filters and methods
    "{{ ('a'*1000)|replace('', 'b'*1000000)|length }}",
    "{{ ('a'*1000).replace('a', 'b'*1000000)|length }}",
    "{{ ('\n'*100000)|indent(1000)|length }}",
    "{{ ('\n'*100000)|indent('x'*1000)|length }}",
    "{{ ('\t'*100000).expandtabs(100000)|length }}",
    "{{ ('a '*100000)|wordwrap(1, wrapstring='b'*100000)|length }}",
    "{{ ([('a'*1000000)]*1000)|join|length }}",
    "{{ ([('a'*1000000)]*1000)|map('string')|join|length }}",
    "{{ ('b'*1000000).join('a'*1000)|length }}",
    "{{ lipsum(n=100000)|length }}",
    "{{ lipsum(n=1, max=10**6)|length }}",
    # widths taken from the arguments, values shown many times
    "{{ '%*d' % (1000000000, 1) }}",
    "{{ ('%*d' * 1000) % ((999999, 1) * 1000) }}",
    "{{ ('%s' * 1000) % (('a'*1000000,) * 1000) }}",
    "{{ ('%s' * 1000)|format(*(('a'*1000000,) * 1000)) }}",
    "{{ '%(a)s%(a)s' % {'a': 'a'*900000} }}",
    "{{ '{:{}}'.format(1, '999999999') }}",
    "{{ ('{:{}}'|safe).format(1, 999999999) }}",
    "{{ ('{0}' * 1000).format('a'*1000000)|length }}",
    "{{ '{a}{a}'.format_map({'a': 'x'*900000}) }}",
    # a list of references to one big string: cheap to build, huge as text
    "{% set a = 'a'*100000 %}{% set b = [a,a,a,a,a,a,a,a,a,a] %}"
    "{% set c = [b,b,b,b,b,b,b,b,b,b] %}{% set d = [c,c,c,c,c,c,c,c,c,c] %}{{ d }}",
    "{% set b = ['a'*100000]*10 %}{% set c = [b]*10 %}{{ [c]*10 ~ '' }}",
    "{% set b = ['a'*100000]*10 %}{% set c = [b]*10 %}{{ ([c]*10)|string|length }}",
    "{% set b = ['a'*100000]*10 %}{% set c = [b]*10 %}{{ ([c]*10)|tojson|length }}",
    "{% set b = ['a'*100000]*10 %}{% set c = [b]*10 %}{{ '%s' % ([c]*10,) }}",
    "{% set b = ['a'*100000]*10 %}{% set c = [b]*10 %}{{ '{}'.format([c]*10) }}",
]

# Renders each template in a child with 1 GB of address space, printing per template
# the error (or "rendered") and the seconds it took.
_HOSTILE_CHILD = """
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from agentkit.templates import Template
results = []
for source in json.loads(sys.stdin.read()):
    start = time.monotonic()
    try:
        Template(source, sandboxed=True).render({})
        outcome = "rendered"
    except Exception as exc:
        outcome = f"{type(exc).__name__}: {exc}"
    results.append([outcome, time.monotonic() - start])
print(json.dumps(results))
"""


def _render_hostile(sources: list[str]) -> list[tuple[str, float]]:
    """Render ``sources`` in a memory-limited child, so a regression cannot exhaust RAM."""
    import json

    child = subprocess.run(
        [sys.executable, "-c", _HOSTILE_CHILD],
        input=json.dumps(sources),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [(outcome, seconds) for outcome, seconds in json.loads(child.stdout)]


# Each operation is small, but a render repeats them for hours or until memory runs out.
_UNBOUNDED_RENDERS = [
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}x",
    "{% set s = 'a'*100000 %}{% for i in s %}{% for j in s %}{% endfor %}{% endfor %}x",
    "{% for i in range(99999) if i %}{% for j in range(99999) if j %}{% endfor %}{% endfor %}",
    "{% for i in range(100000) recursive %}{% if loop.depth < 3 %}{{ loop(range(100000)) }}"
    "{% endif %}{% endfor %}",
    "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(30) }}",
    "{% set l = [] %}{% for i in range(1000) %}{{ l.append(('a'*999000) ~ i) }}{% endfor %}",
    "{% set l = ['a'] %}{% for i in range(40) %}{{ l.extend(l) }}{% endfor %}{{ l|length }}",
]


def test_a_sandboxed_render_is_bounded_in_steps_and_in_what_it_builds() -> None:
    for source, (outcome, seconds) in zip(
        _UNBOUNDED_RENDERS, _render_hostile(_UNBOUNDED_RENDERS), strict=True
    ):
        assert "unsafe operation" in outcome and "limit for a render" in outcome, (source, outcome)
        assert seconds < 2.0, (source, seconds)
    loops = "{% for i in items %}{% for j in items %}{{ i * j }} {% endfor %}{% endfor %}"
    assert len(Template(loops, sandboxed=True).render({"items": range(300)})) > 90_000


def test_sandboxed_templates_cannot_allocate_without_bound() -> None:
    for source, (outcome, seconds) in zip(_UNBOUNDED, _render_hostile(_UNBOUNDED), strict=True):
        assert outcome.startswith("UserError") and "unsafe operation" in outcome, (source, outcome)
        assert seconds < 1.0, (source, seconds)


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


def test_the_bounded_sandbox_still_concatenates_joins_and_formats_like_jinja2() -> None:
    source = (
        "{{ users|join(', ', attribute='name') }}|{{ 'a' ~ 1 ~ x }}|"
        "{% autoescape true %}{{ '<' ~ x }}{% endautoescape %}|{{ '{:,.2f}'.format(1234.5) }}|"
        "{{ '%(a)s-' % {'a': 1} }}|{{ [1, 2] + [3] }}|{{ 'ab'.replace('a', 'c') }}|"
        "{{ ', '.join(items) }}|{{ 'aaa bbb'|wordwrap(4) }}|{{ 'a\nb'|indent(2, first=True) }}|"
        "{{ lipsum(1, false, 5, 10)|length > 0 }}|{{ '{0:{1}}'.format('x', 3) }}|"
        "{{ '{a}'.format_map({'a': 2}) }}|{{ users }}|{{ '%s and %s'|format('a', 'b') }}"
    )
    variables = {"users": [{"name": "Ada"}, {"name": "Bob"}], "x": "&", "items": ["p", "q"]}
    expected = Template(source).render(variables)
    assert Template(source, sandboxed=True).render(variables) == expected
    assert expected.startswith("Ada, Bob|a1&|&lt;&amp;|1,234.50|1-|[1, 2, 3]|cb|p, q|aaa\nbbb|")


@pytest.mark.parametrize(
    "source",
    [
        "{{ [[1], [2]]|sum(start=[0]) }}",
        "{{ [(1,), (2, 3)]|sum(start=()) }}",
        "{{ [{'a': [1]}, {'a': [2]}]|sum(attribute='a', start=[]) }}",
        "{{ [1, 2, 3]|sum }}|{{ [1.5, 2]|sum(start=1) }}",
    ],
)
def test_the_sandboxed_sum_filter_adds_like_jinja2(source: str) -> None:
    assert Template(source, sandboxed=True).render({}) == Template(source).render({})


def test_the_sandboxed_sum_filter_concatenates_lists_in_one_pass() -> None:
    # Python's sum(..., start=[]) copies the list built so far once per item: 100,000
    # one-item lists took about 12 s of CPU, unseen by the step budget.
    many = "{{ range(100000)|batch(1)|sum(start=[])|length }}"
    started = time.monotonic()
    assert Template(many, sandboxed=True).render({}) == "100000"
    assert time.monotonic() - started < 2.0
    with pytest.raises(UserError, match="can only concatenate list"):
        Template("{{ [[1], (2,)]|sum(start=[]) }}", sandboxed=True).render({})
    with pytest.raises(UserError, match="size limit"):
        Template("{{ ([['a'] * 600000] * 2)|sum(start=[])|length }}", sandboxed=True).render({})
