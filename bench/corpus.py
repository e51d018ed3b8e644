"""The benchmark corpora: deterministic synthetic material libraries for bench/.

Two of them, chosen by name (`--corpus`):

- `small`: the original generator. Five categories, each with a few dozen products, brands,
  adjectives and tags, and the marketing phrases sellers paste into WeChat: about 440 distinct
  title terms whatever the size, so posting lists are long and few. Kind to an engine.
- `realistic`: a long-tailed vocabulary, as real product copy has. Words are drawn from jieba's
  own dictionary by its word frequencies (which follow Zipf's law), across 40 categories; a few
  thousand brands (Chinese and Latin) with Zipf popularity, each with its model numbers; sizes,
  counts and flavours; several thousand tags with a long tail; copy of 80-400 characters. At
  100k documents it has hundreds of thousands of distinct terms, most of them rare.

Each corpus gives `doc(i)` (material number i, the same dict in any process: the fields
search.SearchIndex indexes) and `query_sets(count)` (queries of each kind drawn from the same
vocabulary, so some hit long posting lists and some the tail).
"""

from __future__ import annotations

import functools
import itertools
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from pypinyin import lazy_pinyin

# -- the small-vocabulary corpus ------------------------------------------------------------

SEED = 20261125
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

CATEGORIES = {
    "美妆": {
        "products": "防晒霜 防晒喷雾 面膜 口红 精华液 洗面奶 粉底液 眼霜 爽肤水 乳液 卸妆油 气垫 "
        "眼影盘 睫毛膏 身体乳 护手霜 面霜 唇釉 隔离霜 散粉",
        "brands": "安热沙 兰蔻 雅诗兰黛 完美日记 花西子 资生堂 欧莱雅 薇诺娜 珀莱雅 理肤泉 科颜氏 "
        "娇韵诗 SK-II Olay 百雀羚",
        "adjectives": "保湿 补水 清爽 控油 美白 提亮 修护 温和 持妆 不脱妆 轻薄 水润 "
        "滋润 抗老 淡斑 敏感肌可用",
        "tags": "防晒 保湿 美白 敏感肌 学生党 平价 大牌 彩妆 护肤 抗老 夏季 秋冬",
        "english": "SPF50+ PA++++ Waterproof Organic Vegan Serum",
    },
    "母婴": {
        "products": "纸尿裤 拉拉裤 奶粉 婴儿车 奶瓶 湿巾 儿童餐椅 辅食机 米粉 安抚奶嘴 婴儿背带 "
        "儿童牙刷 学步鞋 爬行垫 儿童水杯 绘本 积木",
        "brands": "帮宝适 花王 好奇 飞鹤 贝亲 爱他美 君乐宝 babycare 可优比 全棉时代 十月结晶 "
        "美赞臣 惠氏",
        "adjectives": "超薄 透气 柔软 防红屁屁 安全无毒 食品级 便携 大容量 防摔 易清洗 有机 无添加 "
        "亲肤",
        "tags": "宝宝 新生儿 婴儿 辅食 早教 孕妇 宝妈必备 安全 玩具 喂养",
        "english": "BPA-free Organic Newborn Premium",
    },
    "食品": {
        "products": "坚果 牛肉干 螺蛳粉 咖啡 茶叶 蜂蜜 零食大礼包 酸奶 燕麦片 自热火锅 辣条 猪肉脯 "
        "芒果干 鲜花饼 月饼 粽子 车厘子 草莓 大米 橄榄油 牛奶 果冻 薯片 巧克力",
        "brands": "三只松鼠 良品铺子 百草味 李子柒 蒙牛 伊利 王饱饱 认养一头牛 来伊份 好欢螺 "
        "农夫山泉 元气森林 旺旺 德芙 五芳斋",
        "adjectives": "香脆 低脂 无糖 营养 鲜嫩 酸甜 麻辣 原味 手工 现做 正宗 新鲜 饱满 健康 "
        "零添加",
        "tags": "零食 早餐 下午茶 健康 减脂 水果 生鲜 特产 年货 中秋 端午 网红零食",
        "english": "Coffee Latte Snacks Cheese Chocolate",
    },
    "服饰": {
        "products": "连衣裙 T恤 牛仔裤 卫衣 运动鞋 羽绒服 衬衫 半身裙 西装外套 针织衫 阔腿裤 风衣 "
        "打底衫 帆布鞋 凉鞋 睡衣 防晒衣 瑜伽裤 毛衣 大衣",
        "brands": "优衣库 太平鸟 李宁 安踏 波司登 森马 ZARA Nike Adidas 海澜之家 雪中飞 特步 回力 "
        "鸭鸭",
        "adjectives": "显瘦 宽松 修身 百搭 纯棉 冰丝 加绒 韩版 法式 复古 简约 高腰 垂感 透气 速干",
        "tags": "女装 男装 童装 夏季 秋冬 新品 通勤 运动 休闲 约会 显瘦 大码",
        "english": "Dress Dresses Vintage Oversize Sneakers Denim",
    },
    "家居": {
        "products": "四件套 收纳盒 保温杯 空气炸锅 拖把 抱枕 香薰 毛巾 电饭煲 扫地机器人 台灯 凉席 "
        "乳胶枕 晾衣架 垃圾桶 保鲜盒 炒锅 加湿器 电动牙刷 吹风机",
        "brands": "宜家 苏泊尔 美的 九阳 小米 网易严选 乐扣乐扣 膳魔师 富安娜 水星家纺 "
        "科沃斯 飞利浦 戴森 南极人",
        "adjectives": "大容量 静音 节能 智能 北欧风 耐用 不粘 防滑 可折叠 吸水 纯棉 抗菌 简约 "
        "高颜值 家用",
        "tags": "家居 厨房 收纳 家电 床品 清洁 好物 租房神器 生活用品 送礼",
        "english": "Smart Nordic Home Kitchen",
    },
}
COMMON_TAGS = "爆款 特价 包邮 新品 限时 618 双十一 母亲节 年货节 直播同款".split()
PHRASES = (
    "限时秒杀 手慢无 宝妈必备 闭眼入 回购无数次 今天下单明天到 买一送一 第二件半价 全国包邮 "
    "工厂直发 品质保证 顺丰包邮 无效退款 亲测好用 姐妹们冲鸭 库存不多 朋友圈爆款 抢到就是赚到 "
    "支持七天无理由 "
    "送礼自用都合适 老客户回购率超高 一件代发 现货秒发 直播间同款 数量有限先到先得 谁用谁知道 "
    "性价比超高 错过再等一年"
).split()
AUDIENCES = "上班族 学生党 宝妈 宝宝 全家人 爸妈 情侣 闺蜜 男朋友 小仙女".split()
BENEFITS = (
    "用了一周效果明显 口感超级好 穿上特别显气质 做工精细 颜值超高 质量杠杠的 包装精美 送人很有面子 "
    "一家人都爱 细节满满 性价比无敌 真的不踩雷 朋友都问链接 每天都离不开"
).split()
EMOJI = "🔥 ✨ 💕 👍 🎉 ❤️ 🌸 ⚡".split()
TEMPLATES = (
    "{adj}{product}，{phrase}！",
    "这款{product}真的太{adj}了，{benefit}。",
    "{brand}家的{product}，{adj}又{adj2}，{phrase}。",
    "原价{p1}元，现在只要{p2}元，{phrase}！",
    "适合{audience}，{benefit}。",
    "{emoji}{phrase}{emoji}",
    "{english} {adj}{product}，{benefit}！",
    "给{audience}买的{product}，{benefit}，{phrase}。",
)

VOCAB = {
    cat: {key: value.split() for key, value in spec.items()} for cat, spec in CATEGORIES.items()
}


@functools.cache
def _zipf_weights(n: int, s: float = 0.9) -> list[float]:
    return list(itertools.accumulate(1 / (rank + 1) ** s for rank in range(n)))


def zipf_choice(rng: random.Random, items: list):
    return rng.choices(items, cum_weights=_zipf_weights(len(items)))[0]


def small_doc(i: int) -> dict:
    """Material number ``i`` of the small-vocabulary corpus: the same dict every time, in any
    process."""
    rng = random.Random(SEED * 1_000_003 + i)
    category = rng.choice(list(VOCAB))
    v = VOCAB[category]
    brand = zipf_choice(rng, v["brands"])
    product = zipf_choice(rng, v["products"])
    adjs = rng.sample(v["adjectives"], 2)

    def fill(template: str) -> str:
        p1 = rng.randrange(59, 999)
        return template.format(
            adj=zipf_choice(rng, v["adjectives"]),
            adj2=zipf_choice(rng, v["adjectives"]),
            product=rng.choice([product, zipf_choice(rng, v["products"])]),
            phrase=zipf_choice(rng, PHRASES),
            benefit=rng.choice(BENEFITS),
            brand=brand,
            audience=rng.choice(AUDIENCES),
            emoji=rng.choice(EMOJI),
            p1=p1,
            p2=rng.randrange(9, p1),
            english=rng.choice(v["english"]),
        )

    copy = "".join(fill(rng.choice(TEMPLATES)) for _ in range(rng.randint(4, 8)))
    title = f"{brand} {adjs[0]}{adjs[1]}{product}"
    if rng.random() < 0.3:
        title += " " + rng.choice(v["english"])
    tags = {zipf_choice(rng, v["tags"]) for _ in range(rng.randint(2, 4))}
    tags |= {rng.choice(COMMON_TAGS)} if rng.random() < 0.5 else set()
    return _material(rng, i, title, copy, brand, category, tags, max_price=50000)


def _material(
    rng: random.Random,
    i: int,
    title: str,
    copy: str,
    brand: str,
    category: str,
    tags: set[str],
    max_price: int,
) -> dict:
    """The document: the texts given, and dates, price and counters drawn from `rng`."""
    created = NOW - timedelta(minutes=rng.randrange(365 * 24 * 60))
    publish_at = take_down_at = None
    if rng.random() < 0.1:
        publish_at = NOW + timedelta(hours=rng.randrange(-2000, 200))
    if rng.random() < 0.05:
        take_down_at = NOW + timedelta(hours=rng.randrange(-200, 2000))
    return {
        "id": i,
        "title": title,
        "copy": copy,
        "brand": brand,
        "category": category,
        "tags": sorted(tags),
        "price_cents": rng.randrange(500, max_price),
        "has_video": rng.random() < 0.3,
        "forward_count": int(rng.paretovariate(1.2)) - 1,
        "created_at": created,
        "publish_at": publish_at,
        "take_down_at": take_down_at,
        "version": 1,
    }


QUERY_KINDS = (
    "one word + tag",
    "two words + tag",
    "one word",
    "two words",
    "browse + tag",
    "browse",
    "pinyin initials",
    "one word + brand",
)


def small_query_sets(count: int) -> dict[str, list[dict]]:
    rng = random.Random(SEED)
    cats = list(VOCAB)
    sets: dict[str, list[dict]] = {k: [] for k in QUERY_KINDS}
    for _ in range(count):
        v = VOCAB[rng.choice(cats)]
        tag = zipf_choice(rng, v["tags"])
        word = rng.choice([zipf_choice(rng, v["products"]), zipf_choice(rng, v["adjectives"])])
        two = f"{zipf_choice(rng, v['adjectives'])} {zipf_choice(rng, v['products'])}"
        sort = rng.choice(["newest", "forwarded"])
        product = zipf_choice(rng, v["products"])
        _add_queries(sets, word, two, tag, sort, product, rng.choice(v["brands"]))
    return sets


def _add_queries(
    sets: dict[str, list[dict]], word: str, two: str, tag: str, sort: str, product: str, brand: str
) -> None:
    """One query of each kind from the words drawn."""
    sets["one word + tag"].append({"q": word, "tags": [tag]})
    sets["two words + tag"].append({"q": two, "tags": [tag]})
    sets["one word"].append({"q": word})
    sets["two words"].append({"q": two})
    sets["browse + tag"].append({"q": "", "tags": [tag], "sort": "newest"})
    sets["browse"].append({"q": "", "sort": sort})
    sets["pinyin initials"].append({"q": "".join(s[0] for s in lazy_pinyin(product))})
    sets["one word + brand"].append({"q": word, "brand": brand})


# -- the realistic corpus -------------------------------------------------------------------

# jieba's part-of-speech tags worth drawing copy words from: nouns, verbs, adjectives,
# idioms and set phrases; not person names (nr), place names (ns) or organisations (nt),
# which would make most of the text proper nouns.
COPY_POS = {"n", "nz", "v", "vn", "a", "an", "ad", "d", "i", "l", "b", "z"}
PRODUCT_POS = {"n", "nz", "vn"}
DICT_WORDS = 80_000  # the most frequent of those, by jieba's counts
CATEGORY_NAMES = (
    "美妆 护肤 彩妆 个护 母婴 童装 玩具 奶粉 零食 生鲜 水果 茶饮 酒水 粮油 女装 男装 内衣 鞋靴 "
    "箱包 配饰 家居 家纺 厨具 家电 数码 手机 电脑 运动 户外 宠物 图书 文具 汽车用品 保健 "
    "医药 珠宝 手表 家装 园艺 农资"
).split()
UNITS = "ml g kg L 片 支 包 瓶 盒 袋 件装 码 寸 cm 斤 粒 只 双 套 罐".split()
FLAVOURS = (
    "原味 香辣 麻辣 蜂蜜 黄油 海盐 芝士 抹茶 草莓 芒果 椰子 榴莲 巧克力 焦糖 柠檬 薄荷 玫瑰 "
    "无糖 低脂 五香 酸辣 番茄 孜然 藤椒 奶香 咸蛋黄 黑糖 桂花"
).split()
MODEL_WORDS = "Pro Max Plus Lite Mini Ultra Air SE 二代 三代 旗舰版 升级款 2025款 2026款".split()
SYLLABLES = "ka ri no va le mi to sa ze lu po na qi fe do ra xi ko be mu".split()
TAG_COUNT = 6000
BRANDS_PER_CATEGORY = 90
CONNECTORS = "，。！、；～ ".split(" ")
COPY_TEMPLATES = (
    "{w}{w}的{product}，{w}{w}。",
    "{brand}{product}{size}，{w}又{w}，{phrase}！",
    "{w}{w}{w}，{w}{product}{w}。",
    "原价{p1}元，到手{p2}元，{phrase}。",
    "适合{audience}{w}，{w}{w}。",
    "{emoji}{phrase}{emoji}",
    "{model}新款{w}{product}，{w}{w}{w}！",
    "{flavour}味{product}，{w}{w}，{benefit}。",
    "{w}{w}{w}{w}，{benefit}。",
)


@functools.cache
def _dictionary() -> tuple[list[str], list[float], list[str], list[float]]:
    """(copy words, their cumulative weights, product nouns, theirs) from jieba's dict.txt:
    CJK words of 2-4 characters of the wanted parts of speech, the most frequent first."""
    import jieba

    path = Path(jieba.__file__).with_name("dict.txt")
    rows = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) != 3:
                continue
            word, freq, pos = parts[0], int(parts[1]), parts[2]
            if (
                2 <= len(word) <= 4
                and pos in COPY_POS
                and all("\u4e00" <= c <= "\u9fff" for c in word)
            ):
                rows.append((freq, word, pos))
    rows.sort(reverse=True)
    rows = rows[:DICT_WORDS]
    words = [w for _, w, _ in rows]
    weights = list(itertools.accumulate(f for f, _, _ in rows))
    nouns = [(f, w) for f, w, pos in rows if pos in PRODUCT_POS]
    return (
        words,
        weights,
        [w for _, w in nouns],
        list(itertools.accumulate(f for f, _ in nouns)),
    )


def _latin_brand(rng: random.Random) -> str:
    name = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))
    return name.upper() if rng.random() < 0.3 else name.capitalize()


@dataclass(frozen=True)
class _Category:
    name: str
    products: list[str]
    product_weights: list[float]
    brands: list[str]
    brand_weights: list[float]
    models: dict[str, list[str]]


@functools.cache
def _realistic_vocab() -> tuple[list[_Category], list[float], list[str], list[float]]:
    """The categories (with their products, brands and each brand's models), the categories'
    cumulative weights, and the tags with theirs: the same in any process."""
    rng = random.Random(SEED + 1)
    words, _, nouns, _ = _dictionary()
    small_products = [p for spec in VOCAB.values() for p in spec["products"]]
    small_brands = [b for spec in VOCAB.values() for b in spec["brands"]]
    categories = []
    # Each category takes its own slice of the dictionary's nouns as its products (several
    # hundred each, rare ones included), plus a few of the small corpus's familiar ones.
    per = len(nouns) // len(CATEGORY_NAMES)
    for k, name in enumerate(CATEGORY_NAMES):
        products = nouns[k :: len(CATEGORY_NAMES)][:per]
        products = rng.sample(small_products, 4) + products
        brands = []
        for _ in range(BRANDS_PER_CATEGORY):
            if rng.random() < 0.45:
                brands.append(_latin_brand(rng))
            else:
                brands.append(rng.choice(words)[:2] + rng.choice(words)[: rng.randint(1, 2)])
        brands[: len(small_brands) // 8] = rng.sample(small_brands, len(small_brands) // 8)
        models = {
            b: [
                f"{rng.choice('ABCDEFGHKMNPRSTVXZ')}{rng.randint(1, 999)}"
                + (f" {rng.choice(MODEL_WORDS)}" if rng.random() < 0.4 else "")
                for _ in range(rng.randint(1, 12))
            ]
            for b in brands
        }
        categories.append(
            _Category(
                name,
                products,
                _zipf_weights(len(products), 1.0),
                brands,
                _zipf_weights(len(brands), 1.1),
                models,
            )
        )
    small_tags = sorted({t for spec in VOCAB.values() for t in spec["tags"]} | set(COMMON_TAGS))
    tags = small_tags + [w for w in rng.sample(words[:40_000], TAG_COUNT) if w not in small_tags]
    return categories, _zipf_weights(len(categories), 0.8), tags, _zipf_weights(len(tags), 1.05)


def _words(rng: random.Random, k: int) -> list[str]:
    """k words by their dictionary frequency (numpy's searchsorted: 1M documents draw ~10^8)."""
    words, _, _, _ = _dictionary()
    draws = np.random.default_rng(rng.getrandbits(64)).random(k) * _WORD_TOTAL()
    return [words[j] for j in np.searchsorted(_WORD_CUM(), draws, side="right")]


@functools.cache
def _WORD_CUM() -> np.ndarray:  # noqa: N802
    return np.asarray(_dictionary()[1], dtype=np.float64)


def _WORD_TOTAL() -> float:  # noqa: N802
    return float(_WORD_CUM()[-1])


@dataclass(frozen=True)
class _Template:
    text: str  # str.format text: positional {} are dictionary words
    words: int
    names: tuple[str, ...]
    prices: bool


def _template(text: str) -> _Template:
    names = tuple(
        n for n in dict.fromkeys(re.findall(r"{(\w+)}", text)) if n not in ("w", "p1", "p2")
    )
    return _Template(text.replace("{w}", "{}"), text.count("{w}"), names, "{p1}" in text)


_TEMPLATES = tuple(_template(t) for t in COPY_TEMPLATES)


def _size(rng: random.Random) -> str:
    unit = rng.choice(UNITS)
    amount = rng.choice((rng.randint(1, 12), rng.randint(10, 99) * 5, rng.randint(100, 2000)))
    return f"{amount}{unit}"


def realistic_doc(i: int) -> dict:
    """Material number ``i`` of the realistic corpus: the same dict every time, in any
    process."""
    categories, category_weights, tags, tag_weights = _realistic_vocab()
    rng = random.Random(SEED * 1_000_003 + i)
    cat = rng.choices(categories, cum_weights=category_weights)[0]
    brand = rng.choices(cat.brands, cum_weights=cat.brand_weights)[0]
    product = rng.choices(cat.products, cum_weights=cat.product_weights)[0]
    model = rng.choice(cat.models[brand])
    adjectives = _words(rng, 2)
    title = f"{brand} {model} {adjectives[0]}{product} {_size(rng)}"
    if rng.random() < 0.3:
        title += f" {rng.choice(FLAVOURS)}"
    pool = iter(_words(rng, 160))
    slots = {  # what a template's named fields draw, each only when the template has it
        "product": lambda: product,
        "brand": lambda: brand,
        "model": lambda: model,
        "size": lambda: _size(rng),
        "flavour": lambda: rng.choice(FLAVOURS),
        "phrase": lambda: zipf_choice(rng, PHRASES),
        "benefit": lambda: rng.choice(BENEFITS),
        "audience": lambda: rng.choice(AUDIENCES),
        "emoji": lambda: rng.choice(EMOJI),
    }
    target = rng.choice((rng.randint(80, 160), rng.randint(120, 260), rng.randint(200, 400)))
    parts, length = [], 0
    while length < target:
        template = rng.choice(_TEMPLATES)
        if template.prices:
            p1 = rng.randrange(59, 2999)
            prices = {"p1": p1, "p2": rng.randrange(9, p1)}
        else:
            prices = {}
        text = template.text.format(
            *(next(pool, "好物") for _ in range(template.words)),
            **{name: slots[name]() for name in template.names},
            **prices,
        )
        parts.append(text)
        length += len(text)
    copy = "".join(parts)
    doc_tags = set(rng.choices(tags, cum_weights=tag_weights, k=rng.randint(2, 6)))
    return _material(rng, i, title, copy[:400], brand, cat.name, doc_tags, max_price=200000)


def realistic_query_sets(count: int) -> dict[str, list[dict]]:
    """The same kinds of query as the small corpus's, drawn from the realistic vocabulary:
    words by their frequency (so mostly common ones, sometimes the tail), products and brands
    by their popularity, models, and tags by theirs."""
    categories, category_weights, tags, tag_weights = _realistic_vocab()
    rng = random.Random(SEED)
    sets: dict[str, list[dict]] = {k: [] for k in QUERY_KINDS}
    for _ in range(count):
        cat = rng.choices(categories, cum_weights=category_weights)[0]
        product = rng.choices(cat.products, cum_weights=cat.product_weights)[0]
        brand = rng.choices(cat.brands, cum_weights=cat.brand_weights)[0]
        tag = rng.choices(tags, cum_weights=tag_weights)[0]
        word = rng.choice([product, _words(rng, 1)[0]])
        two = f"{_words(rng, 1)[0]} {product}"
        _add_queries(sets, word, two, tag, rng.choice(["newest", "forwarded"]), product, brand)
    return sets


# -- by name --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Corpus:
    name: str
    doc: Callable[[int], dict]
    query_sets: Callable[[int], dict[str, list[dict]]]


CORPORA = {
    "small": Corpus("small", small_doc, small_query_sets),
    "realistic": Corpus("realistic", realistic_doc, realistic_query_sets),
}
