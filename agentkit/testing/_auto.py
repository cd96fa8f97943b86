"""Moved to :mod:`agentkit.emulator.auto`; this module keeps the old import path working."""

from agentkit.emulator.auto import *  # noqa: F403
from agentkit.emulator.auto import __all__ as __all__
