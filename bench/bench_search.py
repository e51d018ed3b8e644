"""Search benchmark: build, query latency and freshness on a synthetic material library.

    .venv/bin/python bench/bench_search.py [--n 100000] [--procs 2] [--limitmb 1024]
    .venv/bin/python bench/bench_search.py --n 10000        # a quick run

The corpus is generated deterministically (seeded per material) from real product vocabulary:
five categories with their products, brands, adjectives and tags, and the marketing phrases
sellers paste into WeChat. Prints full build time, index size, p50/p95 query latency per
query type (top 20 with facets), the same queries through whoosh's stock Searcher.search with
groupedby facets on the same index as a baseline, freshness lag under a steady stream of
single-document edits, and profiles of what dominated the build and the queries.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import itertools
import multiprocessing
import os
import pstats
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from whoosh import query as wq  # noqa: E402
from whoosh import sorting  # noqa: E402
from whoosh.util.times import datetime_to_long  # noqa: E402

from bench.timing import ms, percentile, summary  # noqa: E402
from search import SearchIndex  # noqa: E402
from search.analysis import analyze_query, normalize_value, warm_up  # noqa: E402
from search.engine import alternatives  # noqa: E402
from search.schema import PINYIN_BOOST, PINYIN_FIELD, as_utc_naive  # noqa: E402

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


def make_doc(i: int) -> dict:
    """Material number ``i``: the same dict every time, in any process."""
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
        "price_cents": rng.randrange(500, 50000),
        "has_video": rng.random() < 0.3,
        "forward_count": int(rng.paretovariate(1.2)) - 1,
        "created_at": created,
        "publish_at": publish_at,
        "take_down_at": take_down_at,
        "version": 1,
    }


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.iterdir() if f.is_file())


PROFILE_BUCKETS = (  # (stage, substrings of "file:function" that belong to it), first match wins
    (
        "decoding posting lists",
        (
            "zlib.decompress",
            "_pickle.load",
            "_w3_postings",
            "_goto",
            "structfile",
            "numpy.array",
            "_read_data",
            "postings",
            "cumsum",
            "numeric.py:ones",
            "filetables",
            "from_bytes",
            "numpy.empty",
            "concatenate",
            "BytesIO",
        ),
    ),
    (
        "highlighting snippets",
        (
            "highlight",
            "markupsafe",
            "str' objects",
            "latin_terms",
            "hasattr",
            "__new__",
            "re.Pattern",
        ),
    ),
    ("BM25 scoring + AND/OR", ("_term_scores", "_text_match", "idf", "doc_frequency")),
    ("filters + publish window", ("_filter_mask", "tag_docs")),
    ("facet counting", ("engine.py:add", "bincount", "as_dict")),
    ("sorting top 20", ("top_k", "_merge", "partition", "lexsort", "_sort_keys")),
    ("stored fields of hits", ("stored_fields", "_hit", "reading.py:<genexpr>")),
    ("query analysis (jieba)", ("jieba", "analyze_query", "iter_terms", "_segment")),
    ("checking for new commits", ("listdir", "_toc_identity", "posix.stat", "_current")),
)


def profile_buckets(profiler: cProfile.Profile) -> list[tuple[str, float]]:
    """Own time grouped into the stages of a query."""
    stats = pstats.Stats(profiler).stats
    totals: dict[str, float] = {}
    for (filename, _, func), (_, _, own, _, _) in stats.items():
        where = f"{filename}:{func}"
        label = next((b for b, keys in PROFILE_BUCKETS if any(k in where for k in keys)), "other")
        totals[label] = totals.get(label, 0.0) + own
    grand = sum(totals.values()) or 1.0
    return sorted(((k, v / grand) for k, v in totals.items()), key=lambda kv: -kv[1])


def profile_top(profiler: cProfile.Profile, limit: int = 12) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(limit)
    lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
    start = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls"))
    return "\n".join(lines[start:])


# -- build ----------------------------------------------------------------------------------


def build_breakdown(sample: int) -> dict[str, float]:
    """CPU seconds per document in each build stage, one process, no disk spills: the jieba +
    pinyin analysis alone, the whole add_document (analysis + whoosh's posting pool), and
    the commit (sorting postings, writing blocks and the term index)."""
    from search.schema import Codec, build_schema, to_fields

    schema = build_schema()
    docs = [to_fields(make_doc(i)) for i in range(sample)]
    start = cpu_seconds()
    for fields in docs:
        for name in ("title", "copy", "keywords", "pinyin"):
            list(schema[name].index(fields[name]))
    analysis = cpu_seconds() - start
    with tempfile.TemporaryDirectory() as tmp:
        ix = SearchIndex.open_or_create(tmp)
        writer = ix._ix.writer(limitmb=4096, codec=Codec())
        start = cpu_seconds()
        for fields in docs:
            writer.add_document(**fields)
        added = cpu_seconds()
        writer.commit()
        committed = cpu_seconds()
    return {
        "jieba + pinyin analysis": analysis / sample,
        "whoosh add_document (rest)": (added - start - analysis) / sample,
        "commit": (committed - added) / sample,
    }


def build(path: Path, n: int, procs: int, limitmb: int) -> dict:
    # Generated up front so that the build's two worker processes do not share the two cores
    # with the generator (in production the feed is a database cursor in the indexer).
    t0 = time.perf_counter()
    docs = [make_doc(i) for i in range(n)]
    generated = time.perf_counter() - t0
    ix = SearchIndex.open_or_create(path)
    cpu0 = cpu_seconds()
    t0 = time.perf_counter()
    ix.rebuild(docs, procs=procs, limitmb=limitmb)
    return {
        "total": time.perf_counter() - t0,
        "cpu": cpu_seconds() - cpu0,
        "generate": generated,
        "index": ix,
    }


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the build's worker processes)."""
    me, kids = (resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


# -- queries --------------------------------------------------------------------------------


def query_sets(count: int) -> dict[str, list[dict]]:
    rng = random.Random(SEED)
    cats = list(VOCAB)
    sets: dict[str, list[dict]] = {
        k: []
        for k in (
            "one word + tag",
            "two words + tag",
            "one word",
            "two words",
            "browse + tag",
            "browse",
            "pinyin initials",
            "one word + brand",
        )
    }
    for _ in range(count):
        v = VOCAB[rng.choice(cats)]
        tag = zipf_choice(rng, v["tags"])
        word = rng.choice([zipf_choice(rng, v["products"]), zipf_choice(rng, v["adjectives"])])
        two = f"{zipf_choice(rng, v['adjectives'])} {zipf_choice(rng, v['products'])}"
        sets["one word + tag"].append({"q": word, "tags": [tag]})
        sets["two words + tag"].append({"q": two, "tags": [tag]})
        sets["one word"].append({"q": word})
        sets["two words"].append({"q": two})
        sets["browse + tag"].append({"q": "", "tags": [tag], "sort": "newest"})
        sets["browse"].append({"q": "", "sort": rng.choice(["newest", "forwarded"])})
        from pypinyin import lazy_pinyin

        product = zipf_choice(rng, v["products"])
        sets["pinyin initials"].append({"q": "".join(s[0] for s in lazy_pinyin(product))})
        sets["one word + brand"].append({"q": word, "brand": rng.choice(v["brands"])})
    return sets


def run_queries(
    ix: SearchIndex, sets: dict[str, list[dict]], profile: bool
) -> dict[str, list[float]]:
    """Our engine over every query set; returns each set's latencies, in query order."""
    print("\nquery latency (top 20 + facets over the whole filtered set; in-process)")
    print(f"  {'query type':26} {'p50':>10} {'p95':>10} {'p99':>10} {'median hits':>12}")
    latencies: dict[str, list[float]] = {}
    for name, queries in sets.items():
        times, totals = [], []
        for params in queries:
            start = time.perf_counter()
            result = ix.search(**params, now=NOW, per_page=20)
            times.append(time.perf_counter() - start)
            totals.append(result.total)
        print(
            f"  {name:26} {ms(percentile(times, 50))} {ms(percentile(times, 95))}"
            f" {ms(percentile(times, 99))} {statistics.median(totals):12.0f}"
        )
        latencies[name] = times
    if profile:  # a separate pass: cProfile roughly doubles the time of what it watches
        profiler = cProfile.Profile()
        for name in ("one word + tag", "two words + tag"):
            for params in sets[name]:
                profiler.enable()
                ix.search(**params, now=NOW, per_page=20)
                profiler.disable()
        print("\nwhere the tag-filtered queries spend their time (cProfile, own time):")
        for label, share in profile_buckets(profiler):
            print(f"  {label:28} {share:4.0%}")
        print(profile_top(profiler, 8))
    return latencies


# -- baseline: whoosh's own search path ------------------------------------------------------

UNSET = 2**64 - 1  # how an unset DATETIME column value reads back (translate=False)
BASELINE_FACETS = ("tags", "brand", "category")


def baseline_facets() -> sorting.Facets:
    """tags can hold several values per document (allow_overlap, as our engine counts them);
    brand and category have no column, so whoosh builds (and caches per searcher) an array
    from their posting lists."""
    facets = sorting.Facets()
    facets.add_field("tags", allow_overlap=True)
    facets.add_field("brand")
    facets.add_field("category")
    return facets


def baseline_query(params: dict) -> dict:
    """``Searcher.search`` arguments mirroring ``SearchIndex.search(**params)``: the same
    analysed words, OR over each word's field alternatives (with the same field boosts), AND
    across words, OR'ed with the joined pinyin spelling; tags and brand as a filter query."""
    analyzed = analyze_query(params.get("q", ""))
    if analyzed.words:
        q = wq.And(
            [
                wq.Or([wq.Term(f, text, boost=boost) for f, text, boost in alternatives(word)])
                for word in analyzed.words
            ]
        )
        if analyzed.joined_pinyin:
            q = wq.Or([q, wq.Term(PINYIN_FIELD, analyzed.joined_pinyin, boost=PINYIN_BOOST)])
    else:
        q = wq.Every()
    filters = [wq.Term("tags", normalize_value(t)) for t in params.get("tags", ())]
    if params.get("brand") is not None:
        filters.append(wq.Term("brand", normalize_value(params["brand"])))
    kwargs: dict = {"filter": None if not filters else filters[0]}
    if len(filters) > 1:
        kwargs["filter"] = wq.And(filters)
    sort = params.get("sort", "relevance")
    if sort == "forwarded":
        kwargs.update(sortedby=["forward_count", "created_at"], reverse=True)
    elif sort == "newest" or not analyzed.words:  # our engine browses newest first
        kwargs.update(sortedby="created_at", reverse=True)
    return {"q": q, **kwargs}


def hidden_docnums(searcher, now: datetime) -> set[int]:
    """Global docnums outside their publish window at ``now``, from whoosh's public column
    readers. publish_at/take_down_at are column-only (not indexed), so a DateRange query
    cannot select them; the set goes to Searcher.search as ``mask=``."""
    reader = searcher.reader()
    now_long = datetime_to_long(as_utc_naive(now))
    publish = reader.column_reader("publish_at", translate=False)
    take_down = reader.column_reader("take_down_at", translate=False)
    return {
        docnum
        for docnum, (pub, down) in enumerate(zip(publish, take_down, strict=True))
        if (pub != UNSET and pub > now_long) or (down != UNSET and down <= now_long)
    }


def baseline_search(searcher, params: dict, mask: set[int] | None) -> tuple[int, dict]:
    """One stock whoosh search: top 20 with their stored fields, facet counts, total."""
    results = searcher.search(
        **baseline_query(params),
        mask=mask or None,
        limit=20,
        groupedby=baseline_facets(),
        maptype=sorting.Count,
        terms=False,
    )
    [hit.fields() for hit in results]  # our engine reads the same stored fields per hit
    facets = {name: results.groups(name) for name in BASELINE_FACETS}
    return len(results), facets


def run_baseline(
    ix: SearchIndex,
    sets: dict[str, list[dict]],
    ours: dict[str, list[float]],
    count: int,
    checks: int = 3,
) -> None:
    print(
        "\nbaseline: whoosh Searcher.search + groupedby facets (same index, same analysed words;"
        f" first {count}\n  queries of each set; And over words of Or over each word's field"
        " Terms, same boosts;\n  tag/brand as a filter= query; groupedby Facets(tags with"
        " allow_overlap, brand, category),\n  maptype=Count; browse via sortedby= columns;"
        " publish window as a precomputed mask= docnum\n  set; stored fields of the top 20 read,"
        " no highlighting)"
    )
    searcher = ix._ix.searcher()
    try:
        start = time.perf_counter()
        mask = hidden_docnums(searcher, NOW)
        print(
            f"  publish-window mask: {len(mask)} hidden docs, computed once in"
            f" {ms(time.perf_counter() - start)} (not in the latencies below)"
        )
        start = time.perf_counter()
        baseline_search(searcher, sets["one word + tag"][0], mask)
        print(
            f"  first search        {ms(time.perf_counter() - start)}"
            " (builds the searcher's brand/category field caches; not counted)"
        )
        mismatches, checked = [], 0
        for name, queries in sets.items():
            for params in queries[:checks]:
                theirs, _ = baseline_search(searcher, params, mask)
                total = ix.search(**params, now=NOW, per_page=20).total
                checked += 1
                if theirs != total:
                    unmasked, _ = baseline_search(searcher, params, None)
                    mismatches.append((name, params, total, theirs, unmasked))
        if not mismatches:
            print(f"  totals checked: {checked} queries, baseline total == our total for all")
        for name, params, total, theirs, unmasked in mismatches:
            reason = (
                "the publish window (baseline without mask matches)"
                if unmasked == total
                else "unexplained"
            )
            print(f"  TOTALS DIFFER {name} {params}: ours {total}, baseline {theirs}: {reason}")

        print(
            f"  {'query type':26} {'p50':>10} {'p95':>10} {'p99':>10} {'median hits':>12}"
            f" {'ours p95':>10} {'ours/base':>9}"
        )
        for name, queries in sets.items():
            times, totals = [], []
            for params in queries[:count]:
                start = time.perf_counter()
                total, _ = baseline_search(searcher, params, mask)
                times.append(time.perf_counter() - start)
                totals.append(total)
            # ours over the same queries (the first ``count`` of the set), from run_queries
            ours_p95 = percentile(ours[name][: len(times)], 95)
            base_p95 = percentile(times, 95)
            print(
                f"  {name:26} {ms(percentile(times, 50))} {ms(base_p95)}"
                f" {ms(percentile(times, 99))} {statistics.median(totals):12.0f}"
                f" {ms(ours_p95)} {ours_p95 / base_p95:9.3f}"
            )
    finally:
        searcher.close()


# -- freshness ------------------------------------------------------------------------------


def editor(path: str, edits: int, interval: float, first_id: int, n: int, out) -> None:
    """The indexer side: a separate process upserting one edited material at a time."""
    ix = SearchIndex.open_or_create(path)
    rng = random.Random(SEED + 1)
    for k in range(edits):
        doc = make_doc(rng.randrange(n))
        token = f"fresh{first_id + k:06d}"
        doc["title"] += f" {token}"
        doc["version"] += 1
        started = time.time()
        ix.upsert([doc])
        out.put((token, started, time.time() - started))
        time.sleep(interval)
    out.put(None)


def freshness(path: Path, n: int, edits: int, rate: float, sets) -> None:
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=editor, args=(str(path), edits, 1 / rate, 0, n, queue))
    reader = SearchIndex.open_or_create(path)
    reader.search("预热", now=NOW)
    background = [q for qs in sets.values() for q in qs]
    proc.start()
    pending: dict[str, float] = {}
    lags, commits, query_times = [], [], []
    done = False
    while not done or pending:
        while not queue.empty():
            item = queue.get()
            if item is None:
                done = True
            else:
                pending[item[0]] = item[1]
                commits.append(item[2])
        for token, started in list(pending.items()):
            if reader.search(token, now=NOW).total:
                lags.append(time.time() - started)
                del pending[token]
        start = time.perf_counter()
        reader.search(**random.choice(background), now=NOW)
        query_times.append(time.perf_counter() - start)
        time.sleep(0.01)
    proc.join()
    print(
        f"\nfreshness: {edits} single-document edits at {rate}/s from a separate process,"
        f" this process polling every ~10 ms"
    )
    print(summary("upsert() commit", commits, 18))
    print(summary("upsert -> found", lags, 18))
    print(
        f"  queries meanwhile   p50 {ms(percentile(query_times, 50))}  p95"
        f" {ms(percentile(query_times, 95))}  (mixed query types, {len(query_times)} queries)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="materials in the corpus")
    parser.add_argument("--procs", type=int, default=2, help="build processes")
    parser.add_argument(
        "--limitmb", type=int, default=1024, help="posting pool per build process before spilling"
    )
    parser.add_argument("--queries", type=int, default=300, help="queries per query type")
    parser.add_argument("--edits", type=int, default=60, help="edits in the freshness run")
    parser.add_argument("--rate", type=float, default=2.0, help="edits per second")
    parser.add_argument("--dir", help="index directory (default: a temporary one, removed)")
    parser.add_argument("--no-profile", action="store_true", help="skip cProfile summaries")
    parser.add_argument(
        "--baseline-queries",
        type=int,
        default=40,  # at n=100000 one takes ~0.3 s (browse ~0.6 s): ~2 minutes for all 8 sets
        help="queries per query type through whoosh's own Searcher.search (the baseline)",
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the whoosh baseline")
    args = parser.parse_args()

    path = Path(args.dir or tempfile.mkdtemp(prefix="sucai-bench-"))
    if path.exists():
        shutil.rmtree(path)
    print(
        f"corpus: {args.n} materials, build with procs={args.procs} limitmb={args.limitmb}"
        f" on {os.cpu_count()} cores; index in {path}"
    )
    try:
        warm_up()
        breakdown = build_breakdown(min(5000, args.n))
        built = build(path, args.n, args.procs, args.limitmb)
        ix = built["index"]
        rate = args.n / built["total"]
        print(f"\nfull build            {built['total']:7.1f} s  ({rate:.0f} docs/s)")
        print(
            f"  CPU time            {built['cpu']:7.1f} s  (all build processes; the machine is"
            f" shared: load average now {os.getloadavg()[0]:.1f})"
        )
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"  peak RSS per worker {peak:7.0f} MiB")
        print(f"  (corpus generated beforehand in {built['generate']:.1f} s, not included)")
        total = sum(breakdown.values())
        print(f"  where build CPU goes (one process, {min(5000, args.n)} docs, no spills):")
        for stage, seconds in breakdown.items():
            print(
                f"    {stage:26} {seconds * 1e3:5.2f} ms/doc  {seconds / total:4.0%}"
                f"  ({seconds * args.n:5.1f} CPU-s at n={args.n})"
            )
        print(f"index size on disk    {dir_size(path) / 2**20:7.1f} MiB ({ix.doc_count()} docs)")

        start = time.perf_counter()
        ix.search("", now=NOW)
        print(
            f"first search after open {ms(time.perf_counter() - start)}"
            " (reads segment arrays: dates, prices, facet codes, field lengths)"
        )
        sets = query_sets(args.queries)
        ours = run_queries(ix, sets, profile=not args.no_profile)
        if not args.no_baseline:
            run_baseline(ix, sets, ours, min(args.baseline_queries, args.queries))
        freshness(path, args.n, args.edits, args.rate, sets)
    finally:
        if not args.dir:
            shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()
