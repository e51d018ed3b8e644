"""Every page passes two independent checkers: axe-core (accessibility, run inside Chromium on
the page as the browser built it) finds no critical or serious violation, and the Nu Html
Checker (vnu.jar, over the HTML the server sent) finds no error. Both come from npm
(package.json, installed by scripts/setup --dev); vnu.jar runs on the machine's Java.

One live server, one material with photos and a video, every page of the three faces; a
failure prints every finding, not just the first."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.web.conftest import ready_material
from tests.web.test_browser import PHONE, WECHAT_UA, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
VNU_JAR = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
SERIOUS = ("critical", "serious")
UNFURLER_UA = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"


@pytest.fixture
def backend() -> str:
    return "embedded"


@pytest.fixture
def checked_material(client, ops_user, small_jpeg, short_clip) -> int:
    return ready_material(
        client,
        ops_user,
        [(small_jpeg, "a.jpg"), (small_jpeg, "b.jpg"), (small_jpeg, "c.jpg")],
        (short_clip, "clip.mp4"),
        title="夏季清爽防晒霜 SPF50+",
        copy="轻薄不油腻，一抹成膜！宝妈必备，户外出游、通勤都适用。",
    )


@pytest.fixture
def pending_post(client, checked_material, seller_user, small_jpeg) -> int:
    """A try-out post waiting for review: the review queue and the author's list show it."""
    from tests.web.api.test_posts import post_post

    resp = post_post(client, seller_user["headers"], checked_material, [(small_jpeg, "p.jpg")])
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def pages(material_id: int, code: str, post_id: int) -> dict[str, list[str]]:
    """Who signs in (None: nobody) -> the paths that face shows."""
    m = material_id
    return {
        "ops": ["/ops/", "/ops/new", f"/ops/m/{m}", "/ops/stats", "/ops/review/", "/ops/selection"],
        "seller": [
            "/h5/",
            "/h5/search",
            f"/h5/m/{m}",
            "/h5/stats",
            "/h5/favorites",
            f"/h5/m/{m}/post",
            "/h5/posts",
            f"/h5/posts/{post_id}",
        ],
        "wechat": [f"/h5/m/{m}"],  # the seller's material page as WeChat's browser gets it
        "public": [f"/m/{m}", f"/m/{m}?ref={code}", f"/embed/{m}", f"/embed/{m}?ref={code}"],
        "signin": ["/signin"],
        "unfurler": [f"/r/{code}/{m}"],  # the link preview page a chat app's fetcher gets
    }


def _context(browser, face: str):
    options = dict(PHONE)
    if face == "ops":
        options = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN"}
    if face == "wechat":
        options["user_agent"] = WECHAT_UA
    if face == "unfurler":
        options["user_agent"] = UNFURLER_UA
    return browser.new_context(**options)


def _signed_in(browser, live_server: str, face: str, users: dict):
    context = _context(browser, face)
    user = users.get(face)
    if user:
        sign_in(context.new_page(), live_server, user["name"])
    return context


@pytest.fixture
def faces(browser, live_server, worker, checked_material, pending_post, ops_user, seller_user):
    """(context, paths) for each face, signed in as its user."""
    users = {"ops": ops_user, "seller": seller_user, "wechat": seller_user}
    out = {}
    code = seller_user["referral_code"]
    for face, paths in pages(checked_material, code, pending_post).items():
        out[face] = (_signed_in(browser, live_server, face, users), paths)
    yield out
    for context, _ in out.values():
        context.close()


# ---------------------------------------------------------------- axe-core


def axe_findings(page) -> list[dict]:
    # An init script, not a <script> tag: the pages' CSP forbids inline script, rightly.
    result = page.evaluate("() => axe.run(document, { resultTypes: ['violations'] })")
    return [v for v in result["violations"] if v["impact"] in SERIOUS]


def _describe_axe(where: str, violation: dict) -> str:
    nodes = "; ".join(_node(n) for n in violation["nodes"][:8])
    return f"{where}: [{violation['impact']}] {violation['id']}: {violation['help']} — {nodes}"


def _node(node: dict) -> str:
    """The element, and for contrast the colours and ratio axe measured."""
    target = " ".join(node["target"])
    data = next((c.get("data") for c in node.get("any", []) if c.get("data")), None)
    if isinstance(data, dict) and "contrastRatio" in data:
        return f"{target} ({data['fgColor']} on {data['bgColor']}: {data['contrastRatio']})"
    return target


@pytest.mark.skipif(not AXE_JS.exists(), reason="npm axe-core missing: run scripts/setup --dev")
def test_axe_finds_no_critical_or_serious_violation(faces, live_server):
    found = []
    for face, (context, paths) in faces.items():
        context.add_init_script(path=str(AXE_JS))
        page = context.new_page()
        for path in paths:
            page.goto(live_server + path)
            page.wait_for_load_state("load")
            found += [_describe_axe(f"{face} {path}", v) for v in axe_findings(page)]
    assert not found, "axe-core found:\n" + "\n".join(found)


# ---------------------------------------------------------------- Nu Html Checker


def vnu(files: list[Path]) -> list[dict]:
    """Every message vnu.jar has about `files`, in one JVM (it takes seconds to start)."""
    java = shutil.which("java")
    assert java, "vnu.jar needs Java: run scripts/setup --dev"
    # -Xss: vnu's schema is evaluated recursively; Java 17's default stack overflowed here.
    cmd = [java, "-Xss8m", "-jar", str(VNU_JAR), "--format", "json", "--stdout"]
    done = subprocess.run([*cmd, *map(str, files)], capture_output=True, text=True, timeout=300)
    assert done.stdout, f"vnu.jar printed nothing: {done.stderr[-2000:]}"
    return json.loads(done.stdout)["messages"]


def _describe_vnu(names: dict[str, str], message: dict) -> str:
    where = names.get(message.get("url", ""), message.get("url", "?"))
    line = message.get("lastLine", "?")
    return f"{where}:{line}: {message['message']} — {message.get('extract', '').strip()[:120]}"


@pytest.mark.skipif(not VNU_JAR.exists(), reason="npm vnu-jar missing: run scripts/setup --dev")
def test_nu_html_checker_finds_no_error_in_the_pages_as_sent(faces, live_server, tmp_path):
    files, names = [], {}
    for face, (context, paths) in faces.items():
        for n, path in enumerate(paths):
            resp = context.request.get(live_server + path, headers={"Accept-Encoding": "br, gzip"})
            assert resp.ok, f"{face} {path}: {resp.status}"
            # Flask-Compress at work: every page is well over its 500-byte floor.
            assert resp.headers.get("content-encoding") in ("br", "gzip"), f"{face} {path}"
            file = tmp_path / f"{face}-{n}.html"
            file.write_bytes(resp.body())
            files.append(file)
            names[file.as_uri().replace("file:///", "file:/")] = f"{face} {path}"
    messages = vnu(files)
    errors = [_describe_vnu(names, m) for m in messages if m["type"] == "error"]
    assert not errors, "the Nu Html Checker found:\n" + "\n".join(errors)
