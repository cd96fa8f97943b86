"""Moved to :mod:`agentkit.emulator.transport`; this module keeps the old import path working."""

from agentkit.emulator.transport import *  # noqa: F403
from agentkit.emulator.transport import __all__ as __all__
