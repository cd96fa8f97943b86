"""pytest plugin registered through the ``pytest11`` entry point.

Fixtures:

- ``emulator``: a fresh :class:`~agentkit.emulator.EmulatorTransport` per test (its
  :class:`~agentkit.emulator.Emulator` is ``emulator.emulator``). Pass it as
  ``Client(transport=emulator)``; the same object also serves an ``AsyncClient``.
  ``emulator.requests`` holds every chat request body it served, decoded, in order.
  Configure it with the ``agentkit_emulator`` marker, whose keyword arguments go to
  ``Emulator``: ``@pytest.mark.agentkit_emulator(scenarios="tests/scenarios")``.
- ``emulator_server``: the emulator on a loopback port for the test
  (:class:`~agentkit.emulator.EmulatorServer`; needs uvicorn); ``.base_url`` is its URL and
  ``.emulator.requests`` the requests it served.

The plugin imports agentkit.emulator only when a fixture is used, so loading it costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from agentkit.emulator.server import EmulatorServer
    from agentkit.emulator.transport import EmulatorTransport


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``agentkit_emulator`` marker."""
    config.addinivalue_line(
        "markers",
        "agentkit_emulator(**options): keyword arguments for the `emulator` fixture's Emulator",
    )


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker("agentkit_emulator")
    return dict(marker.kwargs) if marker is not None else {}


@pytest.fixture
def emulator(request: pytest.FixtureRequest) -> EmulatorTransport:
    """An in-process emulator transport, usable by sync and async clients alike."""
    from agentkit.emulator.transport import EmulatorTransport

    return EmulatorTransport(**_options(request))


@pytest.fixture
def emulator_server(request: pytest.FixtureRequest) -> Iterator[EmulatorServer]:
    """The emulator served over HTTP on a free loopback port for the duration of a test."""
    from agentkit.emulator.server import EmulatorServer

    with EmulatorServer(**_options(request)) as server:
        yield server
