"""The one parser of a model's JSON answer, shared by ``create_json`` and structured output."""

from __future__ import annotations

import json
import re
from typing import Any

from agentkit._json import loads

__all__ = ["parse_json_answer", "strip_code_fence"]

# An opening fence with an optional language tag (```json), and the closing fence.
# A language tag is a word followed by a line break, or by spaces and the start of a JSON
# object, array or string: in "```42```" or "```true```" the fenced text is the answer.
_FENCE = re.compile(
    r"\A```(?:[A-Za-z][A-Za-z0-9_+-]*(?=[ \t]*\n|[ \t]+[\[{\"])[ \t]*\n?)?(.*?)\n?[ \t]*```\Z",
    re.DOTALL,
)


def strip_code_fence(text: str) -> str:
    """``text`` stripped of surrounding whitespace and of one Markdown code fence, if any.

    Models sometimes fence their JSON despite being told not to; the fence is not part of
    the value. ``"```json\\n{...}\\n```"``, ``"```{...}```"`` and ``"```\\n[1]\\n```"`` all
    give the text inside.
    """
    text = text.strip()
    if text.startswith("```"):
        match = _FENCE.match(text)
        if match:
            return match.group(1).strip()
    return text


def parse_json_answer(text: str) -> Any:
    """Parse a model's answer as JSON, accepting one surrounding code fence.

    Raises:
        ValueError: the text is not JSON (also when nested too deeply to decode); the
            message says why and where, without quoting the text.
    """
    try:
        return loads(strip_code_fence(text))
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at position {exc.pos})") from None
    except ValueError as exc:
        raise ValueError(f"not valid JSON ({exc})") from None
