"""Shared fixtures: no test may reach the network or pick up a developer's real key."""

from __future__ import annotations

import pytest

_STRIPPED = (
    "AGENTKIT_API_KEY",
    "AGENTKIT_BASE_URL",
    "AGENTKIT_MODEL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


@pytest.fixture(autouse=True)
def _offline_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _STRIPPED:
        monkeypatch.delenv(name, raising=False)
