"""Who makes the scannable code on a card, by the kind its layout names (Layout.scan_code):

- "qr": the QR of the seller's referral link (/r/<code>/<material>), every card's default;
- "none": no code, for the link preview's `og` card;
- "wxacode": the seller's 小程序码 for the material (wxacode.py), for `moments`, offered only
  while a mini-program is configured.

A provider says whether it can serve here, what a card carrying its code depends on (part of
the card's cache key, known before anything is fetched or drawn, so a revalidation costs
neither), and makes the code for the renderer, which takes it as data.
"""

from __future__ import annotations

from typing import Protocol

from materials.platform.deps import Deps
from materials.sharing import wxacode
from media.cards import Layout, NoCode, PictureCode, QrCode, ScanCode


class Provider(Protocol):
    def available(self, deps: Deps) -> bool: ...

    def identity(self, deps: Deps, material_id: int, code: str, layout: Layout) -> str: ...

    def make(self, deps: Deps, material_id: int, code: str, layout: Layout) -> ScanCode: ...


class ReferralQr:
    def available(self, deps: Deps) -> bool:
        return True

    def identity(self, deps: Deps, material_id: int, code: str, layout: Layout) -> str:
        return deps.urls.referral(code, material_id)  # what the QR encodes, exactly

    def make(self, deps: Deps, material_id: int, code: str, layout: Layout) -> ScanCode:
        return QrCode(deps.urls.referral(code, material_id))


class Nothing:
    def available(self, deps: Deps) -> bool:
        return True

    def identity(self, deps: Deps, material_id: int, code: str, layout: Layout) -> str:
        return ""

    def make(self, deps: Deps, material_id: int, code: str, layout: Layout) -> ScanCode:
        return NoCode()


class MiniProgramCode:
    def available(self, deps: Deps) -> bool:
        return wxacode.configured(deps)

    def identity(self, deps: Deps, material_id: int, code: str, layout: Layout) -> str:
        return wxacode.wanted(deps, code, material_id, layout).identity

    def make(self, deps: Deps, material_id: int, code: str, layout: Layout) -> ScanCode:
        wanted = wxacode.wanted(deps, code, material_id, layout)
        return PictureCode(wxacode.image(deps, material_id, code, wanted), kind="wxacode")


PROVIDERS: dict[str, Provider] = {
    QrCode.kind: ReferralQr(),
    NoCode.kind: Nothing(),
    "wxacode": MiniProgramCode(),
}
