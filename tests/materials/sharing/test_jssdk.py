"""GET /wechat/jssdk-config on both backends, against the WeChat stand-in (tests/wechat_standin.py):
WeChat's documented signature example, the token and ticket fetched once for several OS
processes, refreshed before they expire, a refused token fetched again once, WeChat away (503,
Retry-After, no stampede), and only pages on our own origin signed."""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import update

from materials.models import ServiceToken, utcnow
from materials.platform import servicetokens
from materials.platform.deps import get_deps
from materials.sharing import credentials
from materials.sharing.wechat import jssdk_signature
from tests.materials.sharing.helpers import PUBLIC, ask_at_once
from tests.wechat_standin import StandIn

APP_ID, SECRET = "wxsucai0000000001", "mp-secret"
PAGE = f"{PUBLIC}/m/1?ref=ABCDEFG"
TOKEN, TICKET = f"wechat:{APP_ID}:access_token", f"wechat:{APP_ID}:jsapi_ticket"


@pytest.fixture
def standin():
    server = StandIn({APP_ID: SECRET}).start()
    yield server
    server.stop()


@pytest.fixture
def settings(settings, standin):
    return settings | {
        "WECHAT_APP_ID": APP_ID,
        "WECHAT_APP_SECRET": SECRET,
        "WECHAT_API_URL": standin.url,
        "WECHAT_TIMEOUT_SECONDS": 1,
    }


def config(client, url: str = PAGE):
    return client.get("/wechat/jssdk-config", query_string={"url": url})


def signed_with(body: dict, ticket: str, url: str = PAGE) -> bool:
    return body["signature"] == jssdk_signature(ticket, body["nonceStr"], body["timestamp"], url)


def fetches(standin: StandIn) -> tuple[int, int]:
    return standin.counts[f"token:{APP_ID}"], standin.counts["ticket"]


def set_rows(app, **values) -> None:
    with get_deps(app).db.transaction() as s:
        s.execute(update(ServiceToken).values(**values))


def test_the_signature_is_wechats_documented_example():
    ticket = (
        "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"
    )
    url = "http://mp.weixin.qq.com?params=value"
    expected = "0f9de62fce790f9a083d5c99e95740ceb90c27ed"
    assert jssdk_signature(ticket, "Wm3WZYTPz0wzccnW", 1414587457, url) == expected
    assert jssdk_signature(ticket, "Wm3WZYTPz0wzccnW", 1414587457, url + "#frag") == expected


def test_a_page_gets_a_config_signed_with_the_ticket_fetched_once(client, standin):
    resp = config(client, PAGE + "#photos")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    body = resp.get_json()
    assert set(body) == {"appId", "timestamp", "nonceStr", "signature"}
    assert body["appId"] == APP_ID and re.fullmatch(r"[A-Za-z0-9]{16}", body["nonceStr"])
    assert abs(body["timestamp"] - time.time()) < 60
    assert signed_with(body, standin.tickets[-1])  # the URL signed is the one without #photos
    assert resp.headers["Cache-Control"] == "no-store" and "Set-Cookie" not in resp.headers
    again = [config(client).get_json() for _ in range(5)]
    assert len({b["nonceStr"] for b in again}) == 5
    assert all(signed_with(b, standin.tickets[-1]) for b in again)
    assert fetches(standin) == (1, 1)


def test_two_processes_asking_at_once_fetch_one_token_and_one_ticket(app, settings, standin):
    standin.delay = 0.3  # each fetch takes a while: the second process asks while it runs
    path = "/wechat/jssdk-config?url=" + PAGE.replace("?", "%3F").replace("&", "%26")
    answers = ask_at_once(settings, [path] * 3, [path] * 3)
    assert [a["status"] for a in answers] == [200] * 6
    assert fetches(standin) == (1, 1)
    assert all(signed_with(json.loads(a["body"]), standin.tickets[0]) for a in answers)


def test_token_and_ticket_are_fetched_again_before_they_expire(client, standin):
    standin.expires_in = 2  # refreshed from 1.6 s on (80 %)
    assert config(client).status_code == 200
    assert config(client).status_code == 200
    assert fetches(standin) == (1, 1)
    time.sleep(1.7)
    body = config(client).get_json()
    assert fetches(standin) == (2, 2) and signed_with(body, standin.tickets[-1])
    config(client)
    assert fetches(standin) == (2, 2)


def test_a_failed_refresh_keeps_the_ticket_while_it_lasts_then_is_a_503(app, client, standin):
    first = config(client).get_json()
    set_rows(app, refresh_at=utcnow() - timedelta(seconds=1))  # due, not expired
    standin.stop()  # WeChat away: connections refused
    resp = config(client)
    assert resp.status_code == 200 and signed_with(resp.get_json(), standin.tickets[0])
    assert first["signature"] != resp.get_json()["signature"]  # a new nonce, the same ticket
    set_rows(app, expires_at=utcnow() - timedelta(seconds=1))
    gone = config(client)
    assert gone.status_code == 503 and gone.mimetype == "application/problem+json"
    assert gone.get_json()["rule"] == "wechat_down" and int(gone.headers["Retry-After"]) >= 1


def test_wechat_away_is_a_503_with_retry_after_and_no_stampede(app, client, standin):
    standin.delay = 30  # answers nothing within the 1 s timeout
    started = time.monotonic()
    resp = config(client)
    assert time.monotonic() - started >= 1
    assert resp.status_code == 503 and resp.mimetype == "application/problem+json"
    assert int(resp.headers["Retry-After"]) == servicetokens.BACKOFF_SECONDS
    assert "Set-Cookie" not in resp.headers
    started = time.monotonic()
    for _ in range(5):  # within the backoff: answered at once, WeChat not asked again
        again = config(client)
        assert again.status_code == 503 and 1 <= int(again.headers["Retry-After"]) <= 5
    assert time.monotonic() - started < 1
    assert standin.counts["requests"] == 1
    standin.delay = 0  # WeChat is back; once the backoff is over the next request fetches
    set_rows(app, lease_until=utcnow() - timedelta(seconds=1))
    assert config(client).status_code == 200


def test_a_refused_token_is_fetched_again_once_then_the_ticket(app, client, standin):
    assert config(client).status_code == 200
    standin.revoke_tokens()  # e.g. someone fetched a token for this AppID outside Sucai
    servicetokens.forget(get_deps(app).db, TICKET)
    resp = config(client)
    assert resp.status_code == 200 and signed_with(resp.get_json(), standin.tickets[-1])
    assert fetches(standin) == (2, 2) and standin.counts["ticket_refused"] == 1


def test_threads_refusing_the_same_token_fetch_one_new_token(app, standin):
    deps = get_deps(app)
    wechat_app = credentials.official_account(deps)
    old = credentials.access_token(deps, wechat_app)
    standin.delay = 0.2
    with ThreadPoolExecutor(4) as pool:
        new = set(pool.map(lambda _: credentials.access_token(deps, wechat_app, old), range(4)))
    assert len(new) == 1 and old not in new
    assert standin.counts[f"token:{APP_ID}"] == 2


REFUSED = [
    ("", 400, "required"),
    ("/m/1", 400, "malformed"),
    ("javascript:alert(1)", 400, "malformed"),
    ("http://[::1", 400, "malformed"),
    ("http://sucai.test:99999/m/1", 400, "malformed"),
    ("http://sucai.test/m/1 x", 400, "malformed"),
    ("http://sucai.test/m/素材", 400, "malformed"),
    ("http://sucai.test/m/1\n", 400, "malformed"),
    ("http://sucai.test/" + "a" * 2000, 400, "malformed"),
    ("https://sucai.test/m/1", 422, "origin"),
    ("http://sucai.test:8080/m/1", 422, "origin"),
    ("http://evil.example/m/1", 422, "origin"),
    ("http://sucai.test.evil.example/m/1", 422, "origin"),
    ("http://evil.example/?u=http://sucai.test/m/1", 422, "origin"),
    ("http://user:pw@sucai.test/m/1", 422, "origin"),
]


def test_only_pages_on_our_public_origin_are_signed(client, standin):
    for url, status, rule in REFUSED:
        resp = config(client, url)
        assert resp.status_code == status and resp.mimetype == "application/problem+json", url
        assert resp.get_json()["rule"] == rule and resp.get_json()["field"] == "url", url
    assert client.get("/wechat/jssdk-config").get_json()["rule"] == "required"
    assert fetches(standin) == (0, 0)  # nothing refused costs a fetch
    for url in ("http://SUCAI.test:80/m/1?ref=X#top", "http://sucai.test/h5/m/1"):
        resp = config(client, url)
        assert resp.status_code == 200, url
        assert signed_with(resp.get_json(), standin.tickets[-1], url.split("#")[0])


def test_a_wrong_secret_is_a_503_and_the_reason_stays_in_the_log(app, settings, caplog):
    from app import create_app

    other = create_app(settings | {"WECHAT_APP_SECRET": "wrong"})
    try:
        resp = config(other.test_client())
        assert resp.status_code == 503 and "40125" not in resp.get_data(as_text=True)
        assert any("40125" in r.getMessage() for r in caplog.records)
    finally:
        get_deps(other).db.dispose()
