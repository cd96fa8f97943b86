"""How an answer without tool calls ends a run (a ``RunState`` part): the output, a
refusal, an answer the token limit or the content filter cut, structured output to fix."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from agentkit.agent._state_base import StateBase
from agentkit.errors import (
    AgentRunError,
    ContentFilterError,
    ModelRefusalError,
    OutputValidationError,
    ResponseTruncatedError,
)

if TYPE_CHECKING:
    from typing import Any

__all__ = ["Answers"]

logger = logging.getLogger("agentkit")


class Answers(StateBase):
    """The end of a run's last turn: what its answer makes of the run."""

    __slots__ = ()

    if TYPE_CHECKING:
        output: Any
        _output_retries: int

        def _check_tokens(self, *, before_request: bool = False) -> None: ...

    def _refusal_answer(self, refusal: str) -> None:
        """The model refused: that text is a text run's answer; no structured output."""
        self.messages.append({"role": "assistant", "content": refusal})
        self._check_tokens()
        if self.spec.output is not None:
            raise ModelRefusalError(
                f"The model refused to answer: {refusal}",
                refusal=refusal,
                messages=self.snapshot(),
            )
        self.notes.append("The model refused to answer; its refusal is the output.")
        self.output, self.done = refusal, True

    def _final_answer(self, content: str | None, finish_reason: str | None) -> None:
        """An answer without tool calls: the run is done, or (structured output that does
        not validate) the model is asked to fix it."""
        self.messages.append({"role": "assistant", "content": content or ""})
        self._check_tokens()
        self._check_finish(content, finish_reason)
        output = self.spec.output
        if output is None:
            self.output = content or ""
            self.done = True
            logger.debug("final answer (%d chars)", len(self.output))
            return
        try:
            self.output = output.validate(content or "")
        except ValueError as exc:
            self._output_retries += 1
            if self._output_retries > self.spec.output_retries:
                raise OutputValidationError(
                    f"The structured output stayed invalid after {self.spec.output_retries} "
                    f"retries: {exc}",
                    content=content,
                    messages=self.snapshot(),
                ) from None
            logger.debug("invalid structured output, asking again: %s", exc)
            self.messages.append(
                {
                    "role": "user",
                    "content": f"{exc}\nReply again with only the corrected JSON object.",
                }
            )
            return
        self.done = True

    def _check_finish(self, content: str | None, finish_reason: str | None) -> None:
        """A cut answer: an error when nothing is left of it, else a note saying so."""
        cut = _CUT.get(finish_reason or "")
        if cut is None:
            return
        error, withheld, note = cut
        if not content:
            raise error(withheld, messages=self.snapshot())
        self.notes.append(note)


# finish_reason -> (the error when nothing is left of the answer, its message, the note)
_CUT: dict[str, tuple[type[AgentRunError], str, str]] = {
    "length": (
        ResponseTruncatedError,
        "The model hit its token limit (finish_reason='length') before writing any answer; "
        "raise max_completion_tokens",
        "The answer was cut off at the token limit (finish_reason='length').",
    ),
    "content_filter": (
        ContentFilterError,
        "The provider's content filter withheld the answer (finish_reason='content_filter')",
        "The provider's content filter stopped the answer part way "
        "(finish_reason='content_filter').",
    ),
}
