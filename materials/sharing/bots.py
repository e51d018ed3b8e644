"""Who is not a person: link unfurlers, crawlers and scripts.

A click from any of these is logged but never counted as valid. The bulk of the knowledge is
PyPI `crawlerdetect` (a port of the maintained JayBizzle/Crawler-Detect list, which already
knows Baiduspider, Bytespider, Sogou, 360Spider, YisouSpider, PetalBot, HeadlessChrome, curl,
python-requests and ~1,400 more). On top of it we keep only what it cannot decide for us:

- an empty User-Agent is a bot (crawlerdetect says "not a crawler": it has nothing to match);
- `MicroMessenger` is never a bot: that is WeChat's in-app browser, i.e. the buyers themselves,
  and a false "bot" there costs a seller a real click;
- a few HUMAN tokens (phone models and apps whose names contain a bot-like word);
- the explicit list of link unfurlers, which `is_unfurler` answers on its own (a later issue
  answers them with a preview page) and which also counts as bots.

crawlerdetect compiles one regex of ~1,400 alternatives (≈50 ms): it is built on the first call
in a process, never at import time, so importing the app stays cheap.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crawlerdetect import CrawlerDetect

# Chat apps and sites that fetch a link to draw its preview card. Only fetchers: apps whose
# in-app browser names itself (Pinterest, Snapchat, Feishu, …) carry people and must not be
# listed. Lower-case substrings of the User-Agent.
UNFURLERS = (
    "facebookexternalhit",
    "facebookcatalog",
    "meta-externalagent",
    "whatsapp/",
    "telegrambot",
    "twitterbot",
    "slackbot",
    "slack-imgproxy",
    "discordbot",
    "linkedinbot",
    "skypeuripreview",
    "microsoftpreview",
    "iframely",
    "embedly",
    "vkshare",
    "redditbot",
    "bitlybot",
    "google-pagerenderer",
    "dingtalkbot-linkservice",  # DingTalk's link card
)

# Never a bot, whatever else the User-Agent says.
PEOPLE = ("micromessenger",)

# Real devices whose names contain "bot" and the like; removed before any matching.
# (crawlerdetect excludes some of these too; ours must hold whatever list it ships.)
HUMAN = ("cubot",)


@functools.cache
def _detector() -> CrawlerDetect:
    """One per process, made on first use. Its state (`matches`) is per call and unused here,
    so sharing it between threads is fine; its lru_cache of answers is thread-safe."""
    from crawlerdetect import CrawlerDetect

    return CrawlerDetect()


def _normalized(user_agent: str) -> str:
    ua = user_agent.strip().lower()
    for token in HUMAN:
        ua = ua.replace(token, "")
    return ua


def _is_person(ua: str) -> bool:
    return any(token in ua for token in PEOPLE)


def is_unfurler(user_agent: str) -> bool:
    """A link-preview fetcher (chat apps drawing a card for a pasted link)."""
    ua = _normalized(user_agent)
    return not _is_person(ua) and any(token in ua for token in UNFURLERS)


def is_bot(user_agent: str) -> bool:
    """True for unfurlers, crawlers and scripts, and for an empty User-Agent too: browsers
    always send one."""
    if not user_agent.strip():
        return True
    ua = _normalized(user_agent)
    if _is_person(ua):
        return False
    if any(token in ua for token in UNFURLERS):
        return True
    return bool(ua) and _detector().is_crawler(ua)
