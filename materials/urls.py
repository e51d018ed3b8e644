"""Every URL the service prints or links, built in one place.

The public ones are stable (shared/DESIGN.md): they are printed inside QR codes and pasted into
storefronts, so they are spelled here once and nowhere else. Paths start with "/"; `absolute`
puts SUCAI_PUBLIC_URL in front (links in QR codes, forwarded text, meta tags, API answers).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode


@dataclass(frozen=True)
class Urls:
    public: str  # SUCAI_PUBLIC_URL, without a trailing slash

    def absolute(self, path: str) -> str:
        return self.public + path

    def referral_path(self, code: str, material_id: int) -> str:
        return f"/r/{code}/{material_id}"

    def referral(self, code: str, material_id: int) -> str:
        """The link in every QR code and forwarded text: absolute."""
        return self.absolute(self.referral_path(code, material_id))

    def scene(self, code: str, material_id: int) -> str:
        """What a seller's 小程序码 carries to the mini-program page (WeChat's `scene`: at most
        32 characters of [0-9A-Za-z!#$&'()*+,/:;=?@-._~]): a query string the page parses;
        23 characters at the longest, c=ABCDEFGH&m=2147483647 (an 8-character code, a 32-bit
        id)."""
        return f"c={code}&m={material_id}"

    def card(self, material_id: int, code: str, layout: str) -> str:
        return f"/cards/{material_id}/{code}/{layout}.jpg"

    def stamped_video(self, material_id: int, code: str) -> str:
        """The material's video with the seller's end card (their QR and code) after it."""
        return f"/cards/{material_id}/{code}/video.mp4"

    def share(self, material_id: int, code: str | None = None) -> str:
        return f"/m/{material_id}" + (f"?ref={code}" if code else "")

    def embed(self, material_id: int, code: str | None = None) -> str:
        return f"/embed/{material_id}" + (f"?ref={code}" if code else "")

    def oembed(self, share_url: str) -> str:
        return "/oembed?" + urlencode({"url": share_url, "format": "json"})

    def jssdk_config(self) -> str:
        """Where a page gets its signed WeChat JS-SDK config (?url=<the page>)."""
        return "/wechat/jssdk-config"

    def media(self, key: str) -> str:
        """A rendition's bytes (never an original: /media serves renditions/ only)."""
        return f"/media/{key}"
