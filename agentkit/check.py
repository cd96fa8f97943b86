"""``agentkit check``: probe a server the way agentkit will use it, and name its profile.

:func:`check_server` sends a short series of requests (the model list, a plain answer,
streams with and without usage, tool calls streamed and not, each ``tool_choice``, JSON
modes, both image-part shapes, the assistant-content shapes after a tool call, both token
limit names, a malformed request for the error shape) and returns a :class:`CheckReport`:
what works, what does not (with the server's answer, shortened and with the key masked),
the profile to use and whether the server can run agentkit agents at all. The probing is
plain HTTP; which profile fits is decided by :func:`recommend`, a pure function.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import field
from typing import Any

import httpx

from agentkit._check_probes import ProbeResult, Server, content_probe, models_probe, run_probes
from agentkit._record import record
from agentkit.client.base import _base_url
from agentkit.defaults import ENV_API_KEY
from agentkit.profiles import PROFILES, TOOL_CHOICES, Profile

__all__ = ["REQUIRED", "CheckReport", "ProbeResult", "check_server", "recommend"]

REQUIRED = (
    "plain answer",
    "stream",
    "tool call",
    "tool result round trip",
    "tool result round trip (streamed)",
)
"""The probes a server must pass to run agentkit agents (a tool call may be text when it
can be recovered)."""


@record(frozen=True, slots=True)
class CheckReport:
    """What ``check_server`` found.

    Attributes:
        base_url: The server probed.
        model: The model used.
        probes: Every probe, in order.
        profile: The profile to use (a built-in, possibly adjusted, see ``changes``).
        changes: The fields changed from the built-in ``profile.name`` to fit the server.
        usable: Whether the server can run agentkit agents with that profile.
    """

    base_url: str
    model: str
    probes: list[ProbeResult]
    profile: Profile
    changes: dict[str, Any] = field(default_factory=dict)
    usable: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (``agentkit check --json``)."""
        return {
            "base_url": self.base_url,
            "model": self.model,
            "usable": self.usable,
            "profile": self.profile.name,
            "changes": {k: _jsonable(v) for k, v in self.changes.items()},
            "probes": [{**dataclasses.asdict(p), "matters": self.matters(p)} for p in self.probes],
        }

    @property
    def effective_profile(self) -> Profile:
        """``profile`` with ``changes`` applied: what to pass as ``Client(profile=...)``."""
        return dataclasses.replace(self.profile, **self.changes) if self.changes else self.profile

    def matters(self, probe: ProbeResult) -> bool:
        """Whether ``probe`` failing matters for runs with the recommended profile."""
        prof, name = self.effective_profile, probe.name
        if name.startswith("after a tool call:"):
            return probe.value == prof.assistant_content
        if name.startswith("image part"):
            return name == f"image part {prof.image_part!r}"
        if name in ("max_completion_tokens", "max_tokens"):
            return name == prof.token_limit
        if name.startswith("tool_choice "):
            return name.split()[1] in prof.tool_choices
        if name.startswith("tool call"):
            return not (probe.value == "text" and prof.recover_text_tool_calls)
        flags = {
            "stream with usage": prof.stream_usage,
            "json_schema": prof.json_schema,
            "parallel_tool_calls": prof.parallel_tool_calls,
        }
        return flags.get(name, True)

    def table(self) -> str:
        """The report as a text table, with the profile to use and the verdict."""
        width = max(len(p.name) for p in self.probes)
        lines = [f"agentkit check: {self.base_url} (model {self.model})", ""]
        for p in self.probes:
            mark = "ok" if p.ok else ("NO" if self.matters(p) else "--")
            lines.append(f"  {mark}  {p.name:<{width}}  {p.detail}")
        lines.append("")
        lines.append("  (ok: works; NO: fails and matters; --: fails, but the profile avoids it)")
        use = f'Client(base_url=..., profile="{self.profile.name}")'
        if self.changes:
            args = ", ".join(f"{k}={_code(v)}" for k, v in self.changes.items())
            use = (
                f'Client(base_url=..., profile=dataclasses.replace(PROFILES["{self.profile.name}"]'
                f", {args}))"
            )
        lines.append(f"profile: {use}")
        verdict = "yes" if self.usable else "NO (see the failed probes marked above)"
        lines.append(f"can run agentkit agents: {verdict}")
        return "\n".join(lines)


def _jsonable(value: Any) -> Any:
    return sorted(value) if isinstance(value, frozenset) else value


def _code(value: Any) -> str:
    if isinstance(value, frozenset):
        return "frozenset({" + ", ".join(repr(v) for v in sorted(value)) + "})"
    return repr(value)


def check_server(
    base_url: str,
    model: str | None = None,
    *,
    api_key: str | None = None,
    timeout: float = 60.0,
    transport: httpx.BaseTransport | None = None,
) -> CheckReport:
    """Probe the server at ``base_url`` (22 small requests) and report.

    Args:
        base_url: The API root, e.g. ``http://127.0.0.1:8080/v1``.
        model: The model to probe; by default the first the server lists.
        api_key: The key; defaults to ``AGENTKIT_API_KEY`` (local servers need none). It
            is never shown: every server answer quoted in the report has it masked.
        timeout: Seconds each request may take.
        transport: An httpx transport (tests).
    """
    key = api_key if api_key is not None else os.environ.get(ENV_API_KEY, "")
    headers = {"Authorization": f"Bearer {key or 'agentkit-check'}"}
    base, _, query, url_secrets = _base_url(base_url)
    root = base[: len(base) - len(query)]
    with httpx.Client(headers=headers, timeout=timeout, transport=transport) as http:
        server = Server(http, model or "", [key, *url_secrets], root, query)
        listed, ids = models_probe(server)
        server.model = model or next((str(i) for i in ids if i), "gpt-5.4-mini")
        probes = [listed]
        reachable = listed.ok or not listed.detail.startswith(("Connect", "Timeout"))
        if reachable:
            probes += run_probes(server)
    profile, changes = recommend(probes)
    shown = server.redactor.text(base)  # the report quotes the URL: not its ?key= value
    return CheckReport(shown, server.model, probes, profile, changes, _usable(probes))


def _usable(probes: list[ProbeResult]) -> bool:
    by = {p.name: p for p in probes}
    for name in REQUIRED:
        p = by.get(name)
        if p is None:
            return False
        if not p.ok and not (name == "tool call" and p.value == "text"):
            return False
    return True


def recommend(probes: list[ProbeResult]) -> tuple[Profile, dict[str, Any]]:
    """The built-in profile closest to what ``probes`` saw, and the fields to change. Pure.

    The built-in is picked by the traits that tell server families apart (the content
    shape after a tool call, the token-limit name, the image-part shape, a refused
    ``max_tokens``, the unknown-model status); the changes then make it fit every probe.
    """
    v: Mapping[str, str | None] = {p.name: p.value for p in probes}
    ok: Mapping[str, bool] = {p.name: p.ok for p in probes}
    content_ok = [
        s for s in ("omit", "null", "empty") if v.get(content_probe(s)) and ok.get(content_probe(s))
    ]
    if content_ok == ["empty"]:
        base = PROFILES["llama.cpp"]
    elif not ok.get("max_completion_tokens", True) and ok.get("max_tokens"):
        base = PROFILES["ollama"]
    elif ok.get("image part 'image'"):
        base = PROFILES["gpt-5.4-mini"]
    elif v.get("max_tokens") == "refused":
        base = PROFILES["openai"]
    elif v.get("unknown model") == "404":
        base = PROFILES["vllm"]
    else:
        base = PROFILES["litellm"]
    return base, _changes(base, v, ok, content_ok)


def _changes(
    base: Profile, v: Mapping[str, str | None], ok: Mapping[str, bool], content_ok: list[str]
) -> dict[str, Any]:
    want: dict[str, Any] = {}
    if content_ok and base.assistant_content not in content_ok:
        want["assistant_content"] = content_ok[0]
    if v.get("stream with usage") == "no":
        want["stream_usage"] = False
    kinds = {"auto"} | {k for k in ("none", "required", "named") if ok.get(f"tool_choice {k}")}
    choices = frozenset(kinds) & TOOL_CHOICES
    if choices != base.tool_choices and v.get("tool_choice required") is not None:
        want["tool_choices"] = choices
    if v.get("parallel_tool_calls") == "refused" and base.parallel_tool_calls:
        want["parallel_tool_calls"] = False
    if v.get("json_schema") in ("refused", "ignored") and base.json_schema:
        want["json_schema"] = False
    other = "image_url" if base.image_part == "image" else "image"
    if not ok.get(f"image part {base.image_part!r}", True) and ok.get(f"image part {other!r}"):
        want["image_part"] = other
    limit_other = (
        "max_tokens" if base.token_limit == "max_completion_tokens" else "max_completion_tokens"
    )
    if not ok.get(base.token_limit, True) and ok.get(limit_other):
        want["token_limit"] = limit_other
    if v.get("tool call") == "text" and not base.recover_text_tool_calls:
        want["recover_text_tool_calls"] = True
    return {k: val for k, val in want.items() if getattr(base, k) != val}
