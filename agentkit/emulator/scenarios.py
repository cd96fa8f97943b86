"""Scenario files: scripted answers the emulator gives when a user message matches.

A scenario file is JSON: one scenario object, a list of them, or ``{"scenarios": [...]}``.

.. code-block:: json

    {
      "name": "weather",
      "match": {"regex": "(?P<city>北京|上海)的?天气"},
      "tool_calls": [{"name": "get_weather", "arguments": {"city": "{{ groups.city }}"}}],
      "reply": "{{ groups.city }}今天{{ result.condition }}，{{ result.temperature }}°C。"
    }

- ``match`` (required): a string (case-insensitive substring), or an object with any of
  ``contains`` (a string or list; all must occur), ``any`` (a list; one must occur),
  ``regex`` (Python syntax, searched; named groups become ``groups``). It is tested against
  the last user message's text.
- ``tools``: tool names the request must all offer for the scenario to match (optional).
- ``tool_calls``: the calls made first, each ``{"name", "arguments"}``; string values in
  ``arguments`` are templates. ``rounds``: a list of such lists, for several rounds of calls.
  Calls to tools the request did not offer are skipped.
- ``reply``: a jinja2 template (sandboxed, undefined names are errors) or any JSON value whose
  strings are templates (sent as JSON text). Without ``reply`` the generic results reply is
  used. Template variables: ``user`` (the user's text), ``groups`` (regex named groups),
  ``results`` (this turn's tool results, JSON-decoded when possible), ``result`` (the last
  one), ``tools`` (tool name -> its last result), ``calls`` (this turn's calls:
  ``{"name", "arguments"}``). On these JSON values ``x.key`` means the key ``key`` whenever
  it exists, even when a dict method has that name (``result.items`` is the result's
  ``items`` field, not ``dict.items``); ``x["key"]`` works too, and dict methods stay
  reachable for keys the data lacks (``{% for k, v in result.items() %}``).
- ``faults``: a fault spec (string or list, see the fault reference) applied whenever the
  scenario answers.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import field
from pathlib import Path
from typing import Any

from agentkit._record import record
from agentkit.emulator.faults import Fault, FaultSpecError, parse_faults
from agentkit.errors import UserError

__all__ = ["Scenario", "builtin_scenarios", "example_scenarios", "load_scenarios"]

_KEYS = frozenset(
    {"name", "match", "tools", "tool_calls", "rounds", "reply", "faults", "description"}
)
_ENV: Any = None


def _environment() -> Any:
    # jinja2 is imported on first use so that importing agentkit.emulator stays cheap.
    global _ENV
    if _ENV is None:
        import jinja2
        from jinja2.sandbox import SandboxedEnvironment

        class _DataFirst(SandboxedEnvironment):
            # jinja2 looks ``x.items`` up as an attribute first, so a tool result with an
            # "items" (or "keys", "values", "get"...) key rendered as a bound dict method.
            # Template data is JSON: for a mapping, dotted access means its key.
            def getattr(self, obj: Any, attribute: str) -> Any:
                if isinstance(obj, Mapping) and attribute in obj:
                    return obj[attribute]
                return super().getattr(obj, attribute)

        _ENV = _DataFirst(undefined=jinja2.StrictUndefined, autoescape=False)
    return _ENV


def _templates(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [t for v in value for t in _templates(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _templates(v)]
    return []


def render(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every string in ``value`` as a template with ``context``."""
    if isinstance(value, str):
        if "{" not in value:
            return value
        return _environment().from_string(value).render(context)
    if isinstance(value, list):
        return [render(v, context) for v in value]
    if isinstance(value, dict):
        return {k: render(v, context) for k, v in value.items()}
    return value


@record(slots=True, frozen=True)
class Scenario:
    """One scripted exchange: a matcher, tool-call rounds, a reply template and faults.

    Build it from a dict in the file format with :meth:`from_dict`.
    """

    name: str
    contains: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()
    regex: re.Pattern[str] | None = None
    rounds: tuple[tuple[Mapping[str, Any], ...], ...] = ()
    reply: Any = None
    faults: tuple[Fault, ...] = field(default=())
    tools: tuple[str, ...] = ()

    def match(self, text: str, offered: Iterable[str] | None = None) -> dict[str, str] | None:
        """The regex's named groups if ``text`` matches this scenario, else ``None``.

        ``offered`` are the tool names the request offers; a scenario with ``tools`` only
        matches when all of them are offered (``None`` skips that check).
        """
        if self.tools and offered is not None and not set(self.tools) <= set(offered):
            return None
        lowered = text.lower()
        if any(c not in lowered for c in self.contains):
            return None
        if self.any_of and not any(a in lowered for a in self.any_of):
            return None
        if self.regex is None:
            return {}
        found = self.regex.search(text)
        if found is None:
            return None
        return {k: v for k, v in found.groupdict().items() if v is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "scenario") -> Scenario:
        """Build a scenario from the file format; raises ``UserError`` naming ``where``."""
        if not isinstance(data, Mapping):
            raise UserError(f"{where}: a scenario must be a JSON object")
        unknown = set(data) - _KEYS
        if unknown:
            raise UserError(f"{where}: unknown scenario keys {sorted(unknown)}")
        name = str(data.get("name") or where)
        contains, any_of, regex = _read_match(data.get("match"), where)
        rounds = _read_rounds(data, where)
        try:
            faults = tuple(parse_faults(data.get("faults")))
        except FaultSpecError as exc:
            raise UserError(f"{where}: {exc}") from None
        tools = data.get("tools", [])
        if not isinstance(tools, list) or not all(isinstance(t, str) for t in tools):
            raise UserError(f"{where}: 'tools' must be a list of tool names")
        reply = data.get("reply")
        _check_templates(_templates(reply) + _templates([c for r in rounds for c in r]), where)
        return cls(
            name=name,
            contains=tuple(str(c).lower() for c in contains),
            any_of=tuple(str(a).lower() for a in any_of),
            regex=regex,
            rounds=tuple(rounds),
            reply=reply,
            faults=faults,
            tools=tuple(tools),
        )


def _read_match(match: Any, where: str) -> tuple[list[str], list[str], re.Pattern[str] | None]:
    """``match`` as (all of these words, any of these words, a regex)."""
    if isinstance(match, str) and match:
        return [match], [], None
    if not isinstance(match, Mapping) or not match:
        raise UserError(f"{where}: 'match' must be a non-empty string or object")
    raw = match.get("contains", [])
    contains = [raw] if isinstance(raw, str) else list(raw)
    any_of = list(match.get("any", []))
    regex: re.Pattern[str] | None = None
    if match.get("regex") is not None:
        try:
            regex = re.compile(str(match["regex"]))
        except re.error as exc:
            raise UserError(f"{where}: bad regex {match['regex']!r}: {exc}") from None
    return contains, any_of, regex


def _read_rounds(data: Mapping[str, Any], where: str) -> list[tuple[Mapping[str, Any], ...]]:
    """The tool-call rounds (``rounds``, or ``tool_calls`` as one round), empty ones dropped."""
    if "rounds" in data and "tool_calls" in data:
        raise UserError(f"{where}: give either 'tool_calls' or 'rounds', not both")
    raw_rounds = data["rounds"] if "rounds" in data else [data.get("tool_calls") or []]
    rounds: list[tuple[Mapping[str, Any], ...]] = []
    for r, calls in enumerate(raw_rounds):
        if not isinstance(calls, list):
            raise UserError(f"{where}: round {r} must be a list of tool calls")
        for call in calls:
            if not isinstance(call, Mapping) or not isinstance(call.get("name"), str):
                raise UserError(f"{where}: each tool call needs a string 'name'")
            if not isinstance(call.get("arguments", {}), (Mapping, str)):
                raise UserError(f"{where}: tool call 'arguments' must be an object")
        if calls:
            rounds.append(tuple(calls))
    return rounds


def _check_templates(templates: list[str], where: str) -> None:
    for template in templates:
        if "{" in template:
            try:
                _environment().parse(template)
            except Exception as exc:  # jinja2.TemplateSyntaxError, kept lazy
                raise UserError(f"{where}: bad template {template!r}: {exc}") from None


def _from_file(path: Path) -> list[Scenario]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read scenario file {str(path)!r}: {exc}") from None
    if isinstance(data, Mapping) and "scenarios" in data:
        data = data["scenarios"]
    items = data if isinstance(data, list) else [data]
    return [
        Scenario.from_dict(item, f"{path.name}[{i}]" if len(items) > 1 else path.stem)
        for i, item in enumerate(items)
    ]


def load_scenarios(source: Any) -> list[Scenario]:
    """Load scenarios from a file or directory path, a :class:`Scenario`, a dict in the file
    format, or a list of any of these; directories load their ``*.json`` files in name order.

    Raises:
        UserError: A missing file, a file that is not JSON, or a malformed scenario.
    """
    if source is None:
        return []
    if isinstance(source, Scenario):
        return [source]
    if isinstance(source, Mapping):
        return [Scenario.from_dict(source)]
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            return [s for f in sorted(path.glob("*.json")) for s in _from_file(f)]
        if not path.is_file():
            raise UserError(f"scenario path {str(path)!r} does not exist")
        return _from_file(path)
    if isinstance(source, Iterable):
        return [s for item in source for s in load_scenarios(item)]
    raise UserError(f"cannot load scenarios from {type(source).__name__}")


def builtin_scenarios() -> list[Scenario]:
    """The scenarios packaged with agentkit (``agentkit/emulator/data/*.json``)."""
    return load_scenarios(Path(__file__).with_name("data"))


def example_scenarios() -> list[Scenario]:
    """The scenarios of agentkit's own examples (``agentkit/emulator/data/examples/``): the
    ``agentkit demo`` weather exchange, which ``agentkit emulator`` also serves."""
    return load_scenarios(Path(__file__).with_name("data") / "examples")
