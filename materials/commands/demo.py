"""Demo data for the run command: three users and a handful of real, published materials."""

from __future__ import annotations

import json
import random
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from materials.accounts import create_user
from materials.catalogue import lifecycle as service
from materials.catalogue.lifecycle import log_change
from materials.catalogue.uploads import check_path
from materials.errors import Conflict
from materials.models import Click, Conversion, Forward, Material, User
from materials.platform.deps import Deps
from materials.sharing import copies
from media.samples import jpeg_bytes, make_clip, product_image

DEMO = [
    (
        "夏季清爽防晒霜 SPF50+ 50ml",
        "轻薄不油腻，一抹成膜！宝妈必备，户外出游、通勤都适用。"
        "（限时特惠）买二送一，今晚24点截止。",
        "89.00",
        "129.00",
        "安热沙",
        "美妆",
        ["防晒", "夏季"],
    ),
    (
        "婴儿纯棉连体衣 新生儿哈衣",
        "A类纯棉，无荧光剂，宝宝穿着软软的～三色可选，52-73码。",
        "59.90",
        "99.00",
        "好孩子",
        "母婴",
        ["婴儿", "纯棉"],
    ),
    (
        "云南高山小粒咖啡豆 500g",
        "中度烘焙，坚果与焦糖香，手冲、意式都合适。当季新豆，顺丰包邮！",
        "68.00",
        None,
        "云咖",
        "食品",
        ["咖啡", "包邮"],
    ),
    (
        "法式复古碎花连衣裙",
        "收腰显瘦，雪纺面料垂感好；S/M/L 三个尺码，身高160穿M刚好。",
        "139.00",
        "199.00",
        "初语",
        "服饰",
        ["连衣裙", "夏季"],
    ),
    (
        "多功能不粘锅 28cm",
        "麦饭石涂层，少油烟，燃气电磁炉通用。厨房小白也能煎出完美荷包蛋！",
        "99.00",
        "159.00",
        "苏泊尔",
        "家居",
        ["厨具", "不粘锅"],
    ),
    (
        "Organic Green Tea 有机绿茶 250g",
        "明前嫩芽，清香回甘。Organic certified, rich in antioxidants. 送礼自饮两相宜。",
        "45.00",
        None,
        "龙井村",
        "食品",
        ["茶叶"],
    ),
]
PASSWORD = "sucai-demo"


def load_demo(deps: Deps, if_empty: bool = False) -> Iterator[str]:
    with deps.db.read() as s:
        count = s.scalar(select(func.count()).select_from(Material)) or 0
    if if_empty and count:
        yield f"demo: {count} materials exist already; nothing added"
        return
    users = {role: _user(deps, f"demo-{role}", role) for role in ("ops", "seller", "storefront")}
    for line in users.values():
        yield json.dumps(line, ensure_ascii=False)
    ops = _ops_user(deps)
    material_ids = []
    with tempfile.TemporaryDirectory(prefix="sucai-demo-") as tmp:
        for i, item in enumerate(DEMO):
            material_ids.append(_material(deps, ops, Path(tmp), i, item))
            yield f"demo: material {material_ids[-1]} {item[0]}"
    yield _copies(deps, material_ids[0])
    yield _activity(deps, material_ids)


def _user(deps: Deps, name: str, role: str) -> dict:
    try:
        user, token = create_user(deps.db, name, role, PASSWORD)
    except Conflict:
        return {"name": name, "role": role, "note": "exists already"}
    out = {"name": name, "role": role, "password": PASSWORD, "token": token}
    if user.referral_code:
        out["referral_code"] = user.referral_code
    return out


def _ops_user(deps: Deps) -> User:
    with deps.db.read() as s:
        user = s.scalar(select(User).where(User.name == "demo-ops"))
        s.expunge(user)
        return user


def _material(deps: Deps, ops: User, tmp: Path, i: int, item: tuple) -> int:
    title, copy, price, original, brand, category, tags = item
    files = []
    for n in range(3 if i % 2 == 0 else 2):
        path = tmp / f"{i}-{n}.jpg"
        path.write_bytes(jpeg_bytes(product_image(1600, 1600, seed=i + n)))
        files.append(check_path("photo", f"photos[{n}]", path, path.name, deps.settings))
    if i == 0:
        clip = make_clip(tmp / "clip.mp4", seconds=4, width=540, height=960)
        files.append(check_path("video", "video", clip, "clip.mp4", deps.settings))
    fields = {
        "title": title,
        "copy": copy,
        "price_cents": _cents(price),
        "original_price_cents": _cents(original) if original else None,
        "product_url": f"https://shop.example.com/item/{1000 + i}",
        "brand": brand,
        "category": category,
        "tags": tags,
    }
    created = service.create_material(deps, ops, fields, files)
    service.publish(deps, created.material_id)
    return created.material_id


def _cents(text: str) -> int:
    yuan, _, fen = text.partition(".")
    return int(yuan) * 100 + int((fen + "00")[:2])


def _copies(deps: Deps, material_id: int) -> str:
    """The first material with two copy variants, a first comment and markup up to ¥10."""
    copies.add_variant(deps, material_id, "宝妈版", "带娃去公园也不怕晒，宝宝能用的温和配方。")
    copies.add_variant(deps, material_id, "通勤版", "上班路上一抹就走，不搓泥不闷痘。")
    changes = {"comment": "评论区：今晚 8 点开团，扣 1 留货～", "markup_allowed": True}
    copies.update_settings(deps, material_id, changes | {"markup_cap_cents": 1000})
    return f"demo: material {material_id} has 2 copy variants, a first comment, markup up to ¥10"


def _activity(deps: Deps, material_ids: list[int]) -> str:
    """Two weeks of forwards, clicks and orders, so the stats pages have something to show."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    with deps.db.transaction() as s:
        seller = s.scalar(select(User).where(User.name == "demo-seller"))
        shop = s.scalar(select(User).where(User.name == "demo-storefront"))
        if seller is None or shop is None:
            return "demo: no activity (demo users missing)"
        counts = [0, 0, 0]
        for day in range(14):
            for material_id in material_ids:
                counts = _day(s, rng, now - timedelta(days=day), seller, shop, material_id, counts)
        for material_id in material_ids:
            material = s.get(Material, material_id)
            material.forward_count = s.scalar(
                select(func.count()).select_from(Forward).where(Forward.material_id == material_id)
            )
            log_change(s, material, "forward")
    return f"demo: {counts[0]} forwards, {counts[1]} clicks, {counts[2]} orders over 14 days"


def _day(s, rng, when, seller, shop, material_id, counts):  # noqa: ANN001, ANN202
    for _ in range(rng.randint(0, 3)):
        s.add(Forward(seller_id=seller.id, material_id=material_id, created_at=when))
        counts[0] += 1
        for _ in range(rng.randint(0, 6)):
            valid = rng.random() > 0.25
            s.add(
                Click(
                    seller_id=seller.id,
                    material_id=material_id,
                    created_at=when,
                    visitor=f"{rng.getrandbits(128):032x}",
                    valid=valid,
                    reason=None if valid else rng.choice(["duplicate", "bot"]),
                )
            )
            counts[1] += 1
            if valid and rng.random() < 0.2:
                s.add(
                    Conversion(
                        storefront_id=shop.id,
                        seller_id=seller.id,
                        order_id=f"DEMO-{rng.getrandbits(40):010x}",
                        material_id=material_id,
                        created_at=when,
                        amount_cents=rng.choice([4500, 6800, 8900, 13900]),
                    )
                )
                counts[2] += 1
    return counts
