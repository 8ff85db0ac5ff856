"""The Toxiproxy client's wire format, against httpx.MockTransport (the real server is
exercised by the integration tests)."""

import json

import httpx
import pytest

from harness.clients.toxiproxy import Proxy, Toxic, ToxiproxyClient, ToxiproxyError


def _client(handler):
    http = httpx.Client(base_url="http://tp", transport=httpx.MockTransport(handler), timeout=1)
    return ToxiproxyClient("http://tp", client=http)


def test_updates_use_patch_and_bodies_are_typed():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path, json.loads(request.content or b"null")))
        return httpx.Response(
            200,
            json={"name": "p", "listen": "a:1", "upstream": "b:2", "enabled": False, "toxics": []},
        )

    tp = _client(handler)
    proxy = tp.set_enabled("p", False)
    assert proxy.enabled is False
    assert seen == [("PATCH", "/proxies/p", {"enabled": False})]


def test_add_toxic_sends_type_stream_toxicity_attributes():
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert body == {
            "name": "lat",
            "type": "latency",
            "stream": "downstream",
            "toxicity": 0.5,
            "attributes": {"latency": 200, "jitter": 10},
        }
        return httpx.Response(200, json=body)

    toxic = _client(handler).add_toxic(
        "p",
        Toxic(name="lat", type="latency", toxicity=0.5, attributes={"latency": 200, "jitter": 10}),
    )
    assert toxic.attributes["latency"] == 200


def test_errors_carry_toxiproxys_message():
    tp = _client(
        lambda r: httpx.Response(409, json={"error": "toxic already exists", "status": 409})
    )
    with pytest.raises(ToxiproxyError, match="409 toxic already exists"):
        tp.add_toxic("p", Toxic(name="x", type="latency"))


def test_remove_missing_toxic_is_not_an_error():
    tp = _client(lambda r: httpx.Response(404, json={"error": "toxic not found", "status": 404}))
    tp.remove_toxic("p", "gone")
    with pytest.raises(ToxiproxyError):
        tp.remove_toxic("p", "gone", missing_ok=False)


def test_unreachable_server_is_a_toxiproxy_error():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ToxiproxyError, match="did not answer GET /proxies"):
        _client(handler).proxies()


def test_populate_drops_toxics_from_body():
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert body == [
            {"name": "p", "listen": "127.0.0.1:1", "upstream": "127.0.0.1:2", "enabled": True}
        ]
        return httpx.Response(201, json={"proxies": [dict(body[0], toxics=[])]})

    out = _client(handler).populate([Proxy(name="p", listen="127.0.0.1:1", upstream="127.0.0.1:2")])
    assert [p.name for p in out] == ["p"]
