"""Moved to :mod:`agentkit.emulator.core`; this module keeps the old import path working."""

from agentkit.emulator.core import *  # noqa: F403
from agentkit.emulator.core import __all__ as __all__
