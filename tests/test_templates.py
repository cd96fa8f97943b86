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
