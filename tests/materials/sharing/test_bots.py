"""Who is a bot: crawlerdetect's list plus our few additions, on real User-Agents."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from materials.sharing.bots import is_bot, is_unfurler

ROOT = Path(__file__).resolve().parents[3]

WECHAT_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.43(0x18002b2c) NetType/WIFI "
    "Language/zh_CN"
)
WECHAT_ANDROID = (
    "Mozilla/5.0 (Linux; Android 13; V2227A Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/111.0.5563.116 Mobile Safari/537.36 XWEB/1160065 "
    "MMWEBSDK/20231202 MMWEBID/2247 MicroMessenger/8.0.47.2560(0x28002F35) WeChat/arm64 "
    "Weixin NetType/WIFI Language/zh_CN ABI/arm64"
)
QQ_BROWSER = (
    "Mozilla/5.0 (Linux; U; Android 12; zh-cn; PFDM00 Build/SP1A.210812.016) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/109.0.5414.86 MQQBrowser/14.3 "
    "Mobile Safari/537.36 COVC/046701"
)
SOGOU_BROWSER = (
    "Mozilla/5.0 (Linux; Android 10; ELE-AL00 Build/HUAWEIELE-AL00; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/66.0.3359.126 Mobile Safari/537.36 "
    "SogouMSE,SogouMobileBrowser/5.22.8"
)
DOUYIN = (
    "Mozilla/5.0 (Linux; Android 12; ANA-AN00 Build/HUAWEIANA-AN00; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/99.0.4844.88 Mobile Safari/537.36 aweme_230400 "
    "JsSdk/1.0 NetType/WIFI ByteLocale/zh-CN Region/CN BytedanceWebview/d8a21c6"
)
CUBOT = "Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 Chrome/118 Mobile"

PEOPLE = [WECHAT_IOS, WECHAT_ANDROID, QQ_BROWSER, SOGOU_BROWSER, DOUYIN, CUBOT]
CRAWLERS = [
    "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
    "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile "
    "Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Sogou web spider/4.0(+http://www.sogou.com/docs/help/webmasters.htm#07)",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/50.0.2661.102 Safari/537.36; 360Spider",
    "Mozilla/5.0 (Linux; Android 7.0;) AppleWebKit/537.36 (KHTML, like Gecko) Mobile "
    "Safari/537.36 (compatible; PetalBot;+https://webmaster.petalsearch.com/site/petalbot)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/120.0.6099.28 Safari/537.36",
    "curl/8.5.0",
    "python-requests/2.32.3",
    "Go-http-client/1.1",
]
UNFURLERS = [
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "WhatsApp/2.23.18.78 i",
    "TelegramBot (like TwitterBot)",
    "Twitterbot/1.0",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5",
    "DingTalkBot-LinkService/1.0",
]


@pytest.mark.parametrize("ua", PEOPLE)
def test_people_are_neither_bots_nor_unfurlers(ua):
    assert not is_bot(ua)
    assert not is_unfurler(ua)


@pytest.mark.parametrize("ua", CRAWLERS)
def test_crawlers_and_scripts_are_bots_but_not_unfurlers(ua):
    assert is_bot(ua)
    assert not is_unfurler(ua)


@pytest.mark.parametrize("ua", UNFURLERS)
def test_unfurlers_are_bots_too(ua):
    assert is_unfurler(ua)
    assert is_bot(ua)


@pytest.mark.parametrize("ua", ["", "   "])
def test_an_empty_user_agent_is_a_bot(ua):
    assert is_bot(ua)


def test_micromessenger_is_never_a_bot():
    # Even with a word that crawlerdetect alone would take for a bot.
    assert not is_bot(f"{WECHAT_IOS} MiniProgramEnv/bot")


def test_importing_the_app_does_not_load_crawlerdetect():
    code = (
        "import sys, app, materials.sharing.referrals\n"
        "assert 'crawlerdetect' not in sys.modules, 'loaded at import time'\n"
        "from materials.sharing import bots\n"
        "bots.is_bot('curl/8')\n"
        "assert bots._detector() is bots._detector()\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
