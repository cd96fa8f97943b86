"""``import agentkit`` stays cheap: what a program may never need is loaded on first use.

jinja2, docstring-parser, uvicorn and ``agentkit.testing`` are checked by
``test_architecture.test_import_does_not_load_optional_dependencies``; this adds pydantic's
model machinery, which only the schema builder needs (about a fifth of the import time).
"""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("agentkit.schema", "pydantic.main", "pydantic.json_schema", "pydantic.types")


def _loaded_after(code: str) -> list[str]:
    probe = f"{code}\nimport sys\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    return out.split(",") if out else []


def test_import_does_not_load_the_schema_builder() -> None:
    assert _loaded_after("import agentkit") == []


def test_defining_a_tool_loads_it() -> None:
    code = "import agentkit\n@agentkit.tool\ndef f(x: int) -> int:\n    return x"
    assert "agentkit.schema" in _loaded_after(code)
