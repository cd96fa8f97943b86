"""Quirk modes: the emulator behaving like a particular family of OpenAI-compatible servers.

"OpenAI-compatible" servers differ in details that agent frameworks trip over first. A
:class:`Quirks` object names each such detail; the presets below reproduce the families
people run, so client-side server profiles (and ``agentkit check``) can be tested offline.
Select one with ``Emulator(quirks="llama.cpp")``, ``Emulator(quirks=Quirks(...))`` or
``agentkit emulator --quirks llama.cpp``; derive your own with ``dataclasses.replace``.

================== =======================================================================
preset             what changes, and why
================== =======================================================================
``agentkit``       The default: the provider's API as ``PROVIDER_API.md`` documents it,
                   OpenAI's rules where it is silent (usage in a stream only when
                   ``stream_options.include_usage`` asks; an unknown model is the
                   documented 400; ``max_tokens`` is ignored, ``max_completion_tokens``
                   counts; both image-part shapes are accepted).
``provider-        The provider document's example shapes: answers and chunks without
examples``         ``id``, ``object``, ``created``, ``model``, ``index`` or ``usage`` (and
                   no ``content`` key beside ``tool_calls``), never a usage chunk. Clients
                   must not rely on those fields.
``openai``         Strict OpenAI behaviour for a GPT-5-family model: only the
                   ``image_url`` part shape, ``max_tokens`` refused with a 400 (reasoning
                   models take ``max_completion_tokens`` only), an unknown model is a 404
                   ``model_not_found``.
``llama.cpp``      The llama-cpp-python server: an assistant message with ``tool_calls``
                   must carry ``"content": ""`` (a missing key or ``null`` is an HTTP 500
                   ``'dict object' has no attribute 'content'``, from its chat template);
                   ``tool_choice="required"`` is a 500; only ``max_tokens`` limits output;
                   ``image_url`` parts only; any model name serves the loaded model.
``vllm``           vLLM's OpenAI server: ``image_url`` parts only, both token-limit names
                   honoured, an unknown model is a 404.
``ollama``         Ollama's ``/v1`` layer: ``tool_choice`` is not enforced (a forced call
                   may come back as text), a streamed tool call arrives whole in one
                   chunk instead of argument fragments, only ``max_tokens`` limits output,
                   ``image_url`` parts only, an unknown model is a 404 ("try pulling it").
``litellm``        The LiteLLM proxy in front of a provider: ``image_url`` parts only, both
                   token-limit names honoured, an unknown model is a 400 naming it.
``text-tool-       A small local model that writes its tool call as text content instead
calls``            of ``tool_calls`` (``finish_reason: "stop"``), cycling through the forms
                   seen in practice: a ```json fence, bare JSON, doubled braces
                   ``{{"name": ...}}`` copied from a chat template, ``<tool_call>`` tags.
``ignores-tool-    A server that does not enforce ``tool_choice``: when ``required`` or a
choice``           named function forces a call, the model answers in text.
``always-usage``   The emulator's old behaviour: every stream ends with a usage chunk,
                   asked for or not (hides clients that never ask).
================== =======================================================================
"""

from __future__ import annotations

from dataclasses import field
from typing import Literal

from agentkit._record import record
from agentkit.errors import UserError

__all__ = ["PRESETS", "TEXT_CALL_STYLES", "Quirks", "resolve_quirks"]

TEXT_CALL_STYLES = ("fenced", "bare", "doubled", "tagged")
"""The text forms a model writes a tool call in (see the ``text-tool-calls`` preset)."""

_BOTH_IMAGE_PARTS = frozenset({"image", "image_url"})
_OPENAI_IMAGE_PARTS = frozenset({"image_url"})


@record(frozen=True, slots=True)
class Quirks:
    """How the emulator deviates from its default (provider + OpenAI) behaviour.

    Attributes:
        name: The preset's name, shown in the emulator's repr and the CLI banner.
        stream_usage: ``"requested"``: a usage chunk only with
            ``stream_options: {"include_usage": true}`` (OpenAI's rule); ``"always"``;
            ``"never"``.
        bare_answers: Omit ``id``, ``object``, ``created``, ``model``, ``index``,
            ``logprobs``, ``refusal`` and ``usage`` (the provider document's examples).
        assistant_content: ``"string"``: a 500 when a history's assistant message with
            ``tool_calls`` has no string ``content`` (llama-cpp-python's template).
        required_tool_choice: ``"honoured"``, ``"error"`` (a 500), or ``"ignored"``.
        named_tool_choice: ``"honoured"`` or ``"ignored"`` (a named function is not forced).
        image_parts: The content-part types accepted for images.
        token_limits: The request parameters that cap the answer's length.
        rejected_params: Parameters answered with a 400 "unsupported parameter".
        unknown_model_status: The status of the error for a model not listed (400 or 404);
            ``None`` serves any model name.
        text_tool_calls: Write tool calls as text content in these styles (cycling, see
            :data:`TEXT_CALL_STYLES`); empty: real ``tool_calls``.
        whole_tool_call_chunks: Stream each tool call in one chunk, arguments complete.
    """

    name: str = "custom"
    stream_usage: Literal["requested", "always", "never"] = "requested"
    bare_answers: bool = False
    assistant_content: Literal["any", "string"] = "any"
    required_tool_choice: Literal["honoured", "error", "ignored"] = "honoured"
    named_tool_choice: Literal["honoured", "ignored"] = "honoured"
    image_parts: frozenset[str] = field(default=_BOTH_IMAGE_PARTS)
    token_limits: tuple[str, ...] = ("max_completion_tokens",)
    rejected_params: tuple[str, ...] = ()
    unknown_model_status: int | None = 400
    text_tool_calls: tuple[str, ...] = ()
    whole_tool_call_chunks: bool = False

    def __post_init__(self) -> None:
        bad = [s for s in self.text_tool_calls if s not in TEXT_CALL_STYLES]
        if bad:
            raise UserError(f"Quirks(text_tool_calls=...): unknown styles {bad}")
        if self.unknown_model_status not in (None, 400, 404):
            raise UserError("Quirks(unknown_model_status=...) must be 400, 404 or None")


PRESETS: dict[str, Quirks] = {
    "agentkit": Quirks(name="agentkit"),
    "provider-examples": Quirks(name="provider-examples", stream_usage="never", bare_answers=True),
    "openai": Quirks(
        name="openai",
        image_parts=_OPENAI_IMAGE_PARTS,
        rejected_params=("max_tokens",),
        unknown_model_status=404,
    ),
    "llama.cpp": Quirks(
        name="llama.cpp",
        assistant_content="string",
        required_tool_choice="error",
        image_parts=_OPENAI_IMAGE_PARTS,
        token_limits=("max_tokens",),
        unknown_model_status=None,
    ),
    "vllm": Quirks(
        name="vllm",
        image_parts=_OPENAI_IMAGE_PARTS,
        token_limits=("max_completion_tokens", "max_tokens"),
        unknown_model_status=404,
    ),
    "ollama": Quirks(
        name="ollama",
        required_tool_choice="ignored",
        named_tool_choice="ignored",
        image_parts=_OPENAI_IMAGE_PARTS,
        token_limits=("max_tokens",),
        unknown_model_status=404,
        whole_tool_call_chunks=True,
    ),
    "litellm": Quirks(
        name="litellm",
        image_parts=_OPENAI_IMAGE_PARTS,
        token_limits=("max_completion_tokens", "max_tokens"),
    ),
    "text-tool-calls": Quirks(name="text-tool-calls", text_tool_calls=TEXT_CALL_STYLES),
    "ignores-tool-choice": Quirks(
        name="ignores-tool-choice", required_tool_choice="ignored", named_tool_choice="ignored"
    ),
    "always-usage": Quirks(name="always-usage", stream_usage="always"),
}
"""The named quirk presets; the names are stable (server profiles are built against them)."""


def resolve_quirks(quirks: str | Quirks | None) -> Quirks:
    """The :class:`Quirks` for a preset name, an object, or ``None`` (the default).

    Raises:
        UserError: An unknown preset name (the message lists the known ones).
    """
    if quirks is None:
        return PRESETS["agentkit"]
    if isinstance(quirks, Quirks):
        return quirks
    if isinstance(quirks, str) and quirks in PRESETS:
        return PRESETS[quirks]
    raise UserError(f"unknown emulator quirks {quirks!r}; known: {', '.join(PRESETS)}")
