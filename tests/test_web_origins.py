"""Other sites' pages cannot drive a local chat_app: CORS-"simple" bodies (415), foreign
``Origin`` headers (403) and, with ``allowed_hosts``, foreign ``Host`` headers (DNS
rebinding, 400); the server's own page and allowed origins keep working."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from _web_support import Served, shop_agent

from agentkit.errors import UserError
from agentkit.web import LOOPBACK_HOSTS, chat_app, loopback_hosts

WEATHER = {"session_id": "s1", "message": "查询北京天气"}
REFUND = b'{"session_id": "s1", "message": "\\u8bf7\\u9000\\u6b3e ORD7"}'


def _client(refunded: list[str], **options: Any) -> httpx.AsyncClient:
    app = chat_app(shop_agent(refunded), **options)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def _error(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "Multipart/Form-Data; boundary=x",
    ],
)
@pytest.mark.parametrize("path", ["/chat", "/chat/stream", "/sessions/s1/approve"])
async def test_bodies_a_page_may_post_cross_site_are_a_415(path: str, content_type: str) -> None:
    refunded: list[str] = []
    async with _client(refunded) as http:
        r = await http.post(path, content=REFUND, headers={"content-type": content_type})
        assert _error(r) == (415, "unsupported_media_type")
        assert "application/json" in r.json()["error"]["message"]
        assert (await http.get("/sessions/s1")).json() == {
            "session_id": "s1",
            "messages": [],
            "approvals": [],
        }
    assert refunded == []


async def test_json_and_a_missing_content_type_are_accepted() -> None:
    async with _client([]) as http:
        assert (await http.post("/chat", json=WEATHER)).status_code == 200
        bare = await http.post("/chat", content=b'{"session_id": "s2", "message": "hi"}')
        assert bare.status_code == 200, bare.text


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "http://t.evil.example", "http://t:8000", "null"]
)
@pytest.mark.parametrize(("method", "path"), [("POST", "/chat"), ("GET", "/sessions/s1")])
async def test_a_foreign_origin_is_a_403(origin: str, method: str, path: str) -> None:
    async with _client([]) as http:
        r = await http.request(method, path, json=WEATHER, headers={"origin": origin})
        assert _error(r) == (403, "forbidden_origin")
        assert "allowed_origins" in r.json()["error"]["message"]
        assert (await http.get("/sessions/s1")).json()["messages"] == []


@pytest.mark.parametrize("origin", ["http://t", "https://t", "http://T:80", "https://t:443"])
async def test_the_servers_own_origin_is_accepted(origin: str) -> None:
    async with _client([]) as http:
        r = await http.post("/chat", json=WEATHER, headers={"origin": origin})
        assert r.status_code == 200, r.text


async def test_allowed_origins_may_call_with_cors_headers() -> None:
    async with _client([], allowed_origins=["https://app.example"]) as http:
        ok = await http.post("/chat", json=WEATHER, headers={"origin": "https://app.example"})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "https://app.example"
        assert "x-agentkit-session-id" in ok.headers["access-control-expose-headers"]
        preflight = await http.options(
            "/chat/stream",
            headers={
                "origin": "https://app.example",
                "access-control-request-method": "POST",
                "access-control-request-headers": "authorization, content-type",
            },
        )
        assert preflight.status_code == 200
        assert "POST" in preflight.headers["access-control-allow-methods"]
        other = await http.post("/chat", json=WEATHER, headers={"origin": "https://b.example"})
        assert _error(other) == (403, "forbidden_origin")


async def test_the_reported_attack_is_refused_and_runs_no_tool() -> None:
    refunded: list[str] = []
    async with _client(refunded, allowed_hosts=loopback_hosts("127.0.0.1")) as http:
        headers = {
            "content-type": "text/plain",
            "origin": "https://evil.example",
            "host": "attacker-rebound.example",
        }
        r = await http.post("/chat", content=REFUND, headers=headers)
        assert _error(r) == (400, "bad_host")
        # DNS rebinding: the page is "same-origin" with its own rebound name.
        rebound = {"origin": "http://attacker-rebound.example", "host": "attacker-rebound.example"}
        r = await http.post("/chat", content=REFUND, headers=rebound)
        assert _error(r) == (400, "bad_host")
    assert refunded == []


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost", "LOCALHOST:1", "[::1]:8000"])
async def test_loopback_names_are_served(host: str) -> None:
    async with _client([], allowed_hosts=loopback_hosts("127.0.0.1")) as http:
        r = await http.post("/chat", json=WEATHER, headers={"host": host})
        assert r.status_code == 200, r.text
        assert (await http.get("/", headers={"host": host})).status_code == 200


def test_loopback_hosts_are_for_loopback_binds_only() -> None:
    assert loopback_hosts("127.0.0.1") == LOOPBACK_HOSTS == ("127.0.0.1", "localhost", "[::1]")
    assert loopback_hosts("::1") == loopback_hosts("[::1]") == loopback_hosts("localhost")
    assert loopback_hosts("127.0.0.2") == (*LOOPBACK_HOSTS, "127.0.0.2")
    for bind in ("0.0.0.0", "::", "192.168.1.5", "example.com"):
        assert loopback_hosts(bind) is None


@pytest.mark.parametrize(
    "options",
    [
        {"allowed_hosts": "localhost"},
        {"allowed_hosts": ["ex*ample.com"]},
        {"allowed_origins": "https://a.example"},
        {"allowed_origins": ["a.example"]},
    ],
)
def test_bad_guard_options_are_a_user_error(options: dict[str, Any]) -> None:
    with pytest.raises(UserError):
        chat_app(shop_agent([]), **options)


def test_the_page_served_on_loopback_calls_its_own_api() -> None:
    """What the chat page's fetch sends: its own origin, a loopback Host."""
    app = chat_app(shop_agent([]), allowed_hosts=loopback_hosts("127.0.0.1"))
    with Served(app) as served, httpx.Client(base_url=served.url, timeout=30) as http:
        assert http.get("/").status_code == 200
        r = http.post("/chat/stream", json=WEATHER, headers={"origin": served.url})
        assert r.status_code == 200 and "北京今天晴" in r.text
        foreign = http.post("/chat", json=WEATHER, headers={"origin": "http://localhost:1"})
        assert _error(foreign) == (403, "forbidden_origin")
