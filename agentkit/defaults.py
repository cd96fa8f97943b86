"""The defaults and environment variable names agentkit reads, declared once."""

from __future__ import annotations

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_MODEL",
    "ENV_API_KEY",
    "ENV_BASE_URL",
    "ENV_LOG_BODIES",
    "ENV_MODEL",
    "ENV_PROFILE",
]

DEFAULT_BASE_URL = "https://api.yisu.com/v1"
"""The API root used when neither ``base_url`` nor ``AGENTKIT_BASE_URL`` is given."""

DEFAULT_MODEL = "gpt-5.4-mini"
"""The model used when neither ``model`` nor ``AGENTKIT_MODEL`` is given."""

DEFAULT_MAX_RESPONSE_BYTES = 32 * 2**20
"""The largest decoded response body (or whole stream) a client reads: 32 MiB."""

ENV_API_KEY = "AGENTKIT_API_KEY"
"""The API key. No other provider's variable is ever read."""

ENV_BASE_URL = "AGENTKIT_BASE_URL"
"""The API root."""

ENV_MODEL = "AGENTKIT_MODEL"
"""The default model."""

ENV_LOG_BODIES = "AGENTKIT_LOG_BODIES"
"""Set to ``1`` to let DEBUG logging include request and response bodies."""

ENV_PROFILE = "AGENTKIT_PROFILE"
"""The server profile (a name in ``agentkit.profiles.PROFILES``) of clients not given one."""
