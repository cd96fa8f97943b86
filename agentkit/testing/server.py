"""Moved to :mod:`agentkit.emulator.server`; this module keeps the old import path working."""

from agentkit.emulator.server import *  # noqa: F403
from agentkit.emulator.server import __all__ as __all__
