"""Server profiles: how to talk to one family of OpenAI-compatible servers.

"OpenAI-compatible" servers differ in details: whether an assistant message with tool
calls may lack ``content``, whether a stream reports usage when asked, which
``tool_choice`` values are honoured, which image-part shape and which token-limit name
they take. A :class:`Profile` names each detail; the client applies it while building a
request body (``agentkit.client.request.apply_profile``). A profile changes only the wire
shape of requests, never what a run means: a forced ``tool_choice`` the server cannot take
is still checked by the agent, token limits still count, images still reach the model.

Pick one with ``Client(profile="llama.cpp")`` or the ``AGENTKIT_PROFILE`` environment
variable; derive your own with ``dataclasses.replace(PROFILES["vllm"], name="mine", ...)``.
``agentkit check --base-url URL`` probes a server and says which profile fits it.

==================== =====================================================================
profile              what it changes, and why
==================== =====================================================================
``gpt-5.4-mini``     The default: the provider ``PROVIDER_API.md`` documents. Image parts
                     ``{"type": "image", "image": "data:..."}`` (the provider's shape),
                     ``max_completion_tokens`` (it documents "not ``max_tokens``"), and
                     ``stream_options.include_usage`` on streams (the document is silent;
                     OpenAI's rule, which it follows, sends usage only when asked).
``openai``           OpenAI itself: ``image_url`` parts, ``max_completion_tokens`` (GPT-5
                     models refuse ``max_tokens``), strict tool schemas, stream usage.
``llama.cpp``        ``llama-server`` and the ``llama-cpp-python`` server: ``"content": ""``
                     beside ``tool_calls`` (a missing or null content is an HTTP 500 from
                     the chat template), ``tool_choice="required"`` not sent (refused with
                     a 500; the agent still insists on a call), ``max_tokens`` (the only
                     limit it reads), no ``parallel_tool_calls`` or ``strict``,
                     ``image_url`` parts, and recovery of tool calls written as text
                     (small local models do that).
``vllm``             vLLM's OpenAI server: ``image_url`` parts, no ``strict`` (ignored at
                     best), stream usage.
``ollama``           Ollama's ``/v1`` layer: ``tool_choice`` other than auto/none not sent
                     (it is not enforced; the agent checks), ``max_tokens``, no
                     ``parallel_tool_calls`` or ``strict``, ``image_url`` parts, recovery
                     of tool calls written as text.
``litellm``          The LiteLLM proxy: ``image_url`` parts (it translates them for the
                     provider behind it), no ``strict``, stream usage.
==================== =====================================================================
"""

from __future__ import annotations

import os
from dataclasses import field
from typing import Literal

from agentkit._record import record
from agentkit.defaults import ENV_PROFILE
from agentkit.errors import UserError

__all__ = [
    "DEFAULT_PROFILE",
    "PROFILES",
    "TOOL_CHOICES",
    "AssistantContent",
    "Profile",
    "resolve_profile",
]

AssistantContent = Literal["omit", "null", "empty"]
"""The ``content`` of an assistant message with ``tool_calls`` and no text: no key,
``null``, or ``""``."""

TOOL_CHOICES = frozenset({"auto", "none", "required", "named"})
"""Every ``tool_choice`` kind (``"named"``: ``{"type": "function", "function": {...}}``)."""


@record(frozen=True, slots=True)
class Profile:
    """How requests to one server family are shaped on the wire.

    Attributes:
        name: The profile's name (``PROFILES`` key for the built-ins).
        description: One line saying which servers it is for.
        assistant_content: The ``content`` sent with an assistant message that has
            ``tool_calls`` and no text: ``"omit"`` the key, ``"null"`` or ``"empty"``
            (``""``).
        stream_usage: Ask streams for a usage chunk
            (``stream_options: {"include_usage": true}``), so token limits count streams.
        tool_choices: The ``tool_choice`` kinds the server takes (see ``TOOL_CHOICES``).
        tool_choice_fallback: What is sent instead of a kind not in ``tool_choices``
            (``None``: leave ``tool_choice`` out).
        parallel_tool_calls: Whether the ``parallel_tool_calls`` field is sent.
        json_schema: Whether ``response_format`` ``json_schema`` is sent; if not, it is
            sent as ``{"type": "json_object"}`` (the answer is still validated).
        strict_tools: Whether ``"strict": true`` on tool definitions is sent.
        image_part: The image content-part shape: ``"image"`` (the provider's) or
            ``"image_url"`` (OpenAI's). Parts in the other shape are converted.
        token_limit: The name the output-token limit is sent under.
        recover_text_tool_calls: Agents on this server recover tool calls the model wrote
            as text (see ``Agent(recover_text_tool_calls=...)``).
    """

    name: str
    description: str = ""
    assistant_content: AssistantContent = "omit"
    stream_usage: bool = True
    tool_choices: frozenset[str] = field(default=TOOL_CHOICES)
    tool_choice_fallback: str | None = "auto"
    parallel_tool_calls: bool = True
    json_schema: bool = True
    strict_tools: bool = True
    image_part: Literal["image", "image_url"] = "image"
    token_limit: Literal["max_completion_tokens", "max_tokens"] = "max_completion_tokens"
    recover_text_tool_calls: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise UserError("Profile(name=...) must be a non-empty str")
        if self.assistant_content not in ("omit", "null", "empty"):
            raise UserError(
                f"Profile {self.name!r}: assistant_content must be 'omit', 'null' or 'empty', "
                f"not {self.assistant_content!r}"
            )
        unknown = set(self.tool_choices) - TOOL_CHOICES
        if unknown:
            raise UserError(
                f"Profile {self.name!r}: unknown tool_choices {sorted(unknown)}; "
                f"known: {sorted(TOOL_CHOICES)}"
            )
        fallback = self.tool_choice_fallback
        if fallback is not None and fallback not in self.tool_choices - {"named"}:
            raise UserError(
                f"Profile {self.name!r}: tool_choice_fallback {fallback!r} must be one of its "
                "tool_choices ('auto', 'none' or 'required') or None"
            )
        if self.image_part not in ("image", "image_url"):
            raise UserError(
                f"Profile {self.name!r}: image_part must be 'image' or 'image_url', "
                f"not {self.image_part!r}"
            )
        if self.token_limit not in ("max_completion_tokens", "max_tokens"):
            raise UserError(
                f"Profile {self.name!r}: token_limit must be 'max_completion_tokens' or "
                f"'max_tokens', not {self.token_limit!r}"
            )


_AUTO_NONE = frozenset({"auto", "none"})

DEFAULT_PROFILE = Profile(
    name="gpt-5.4-mini",
    description="The gpt-5.4-mini provider (PROVIDER_API.md), agentkit's default",
)
"""The provider agentkit speaks first."""

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        DEFAULT_PROFILE,
        Profile(
            name="openai",
            description="OpenAI's API",
            image_part="image_url",
        ),
        Profile(
            name="llama.cpp",
            description="llama-server and the llama-cpp-python server",
            assistant_content="empty",
            tool_choices=frozenset({"auto", "none", "named"}),
            parallel_tool_calls=False,
            strict_tools=False,
            image_part="image_url",
            token_limit="max_tokens",
            recover_text_tool_calls=True,
        ),
        Profile(
            name="vllm",
            description="vLLM's OpenAI-compatible server",
            strict_tools=False,
            image_part="image_url",
        ),
        Profile(
            name="ollama",
            description="Ollama's OpenAI-compatible /v1 API",
            tool_choices=_AUTO_NONE,
            parallel_tool_calls=False,
            strict_tools=False,
            image_part="image_url",
            token_limit="max_tokens",
            recover_text_tool_calls=True,
        ),
        Profile(
            name="litellm",
            description="The LiteLLM proxy",
            strict_tools=False,
            image_part="image_url",
        ),
    )
}
"""The built-in profiles by name; the names are stable."""


def resolve_profile(profile: str | Profile | None) -> Profile:
    """The ``Profile`` for a name, an object, or ``None`` (``AGENTKIT_PROFILE``, else the
    default).

    Raises:
        UserError: An unknown name (the message lists the built-ins) or a wrong type.
    """
    if profile is None:
        profile = os.environ.get(ENV_PROFILE) or DEFAULT_PROFILE
        where = ENV_PROFILE
    else:
        where = "profile"
    if isinstance(profile, Profile):
        return profile
    if isinstance(profile, str):
        found = PROFILES.get(profile)
        if found is not None:
            return found
        raise UserError(
            f"Unknown server profile {profile!r} ({where}); known: {', '.join(PROFILES)}"
        )
    raise UserError(f"profile must be a profile name or a Profile, not {type(profile).__name__}")
