"""Who is not a person: link unfurlers, crawlers and scripts, as data.

A click from any of these is logged but never counted as valid. Matching is a case-insensitive
substring test on the User-Agent, after removing the HUMAN tokens (phone models and apps whose
names happen to contain a bot-like word).

Never list `MicroMessenger`: that is WeChat's in-app browser, i.e. the buyers themselves.
"""

from __future__ import annotations

import re

# Chat apps that fetch a link to draw its preview card. Only fetchers: apps whose in-app browser
# names itself (Pinterest, Snapchat, Feishu, …) carry people and must not be listed.
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
)

# Search engines and other crawlers (many also match the generic pattern below).
CRAWLERS = (
    "googlebot",
    "google-inspectiontool",
    "bingbot",
    "baiduspider",
    "bytespider",
    "yisouspider",
    "sogou",
    "360spider",
    "haosouspider",
    "petalbot",
    "applebot",
    "yandex",
    "duckduckbot",
    "ahrefsbot",
    "semrushbot",
    "mj12bot",
    "dotbot",
    "ia_archiver",
    "archive.org_bot",
    "gptbot",
    "claudebot",
    "ccbot",
    "headlesschrome",
    "phantomjs",
    "lighthouse",
    "pingdom",
    "uptimerobot",
)

# HTTP libraries and command-line tools: no person taps a link with these.
SCRIPTS = (
    "curl/",
    "wget/",
    "python-requests",
    "python-urllib",
    "python-httpx",
    "aiohttp",
    "httpie",
    "go-http-client",
    "okhttp",
    "java/",
    "apache-httpclient",
    "libwww-perl",
    "node-fetch",
    "axios/",
    "undici",
    "postmanruntime",
    "scrapy",
)

# Real devices and apps whose names contain "bot" and the like.
HUMAN = ("cubot",)

GENERIC = re.compile(r"bot\b|bot/|crawler|spider|scraper|preview|fetcher|monitor", re.IGNORECASE)
_TOKENS = UNFURLERS + CRAWLERS + SCRIPTS


def is_bot(user_agent: str) -> bool:
    """True for an empty User-Agent too: browsers always send one."""
    ua = user_agent.strip().lower()
    if not ua:
        return True
    for token in HUMAN:
        ua = ua.replace(token, "")
    return any(token in ua for token in _TOKENS) or GENERIC.search(ua) is not None
