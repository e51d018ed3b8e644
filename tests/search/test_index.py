"""SearchIndex on a real whoosh index in tmp_path: analysis, filters, facets, sorts, snippets,
hostile input, publish windows, writes, refreshes across instances, corruption."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

import search.index
from search import IndexBusy, IndexCorrupt, SearchIndex
from search import segments as seg
from search.analysis import analyze_query, pinyin_terms
from search.schema import SCHEMA_VERSION, Codec

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def material(id: int, title: str, copy: str = "", **fields) -> dict:
    doc = {
        "id": id,
        "title": title,
        "copy": copy,
        "brand": None,
        "category": None,
        "tags": [],
        "price_cents": 1000,
        "has_video": False,
        "forward_count": 0,
        "created_at": NOW - timedelta(days=30) + timedelta(minutes=id),
        "publish_at": None,
        "take_down_at": None,
        "version": 1,
    }
    doc.update(fields)
    return doc


@pytest.fixture
def index(tmp_path) -> SearchIndex:
    ix = SearchIndex.open_or_create(tmp_path / "index")
    yield ix
    ix.close()


def ids(ix: SearchIndex, q: str = "", **options) -> list:
    options.setdefault("now", NOW)
    options.setdefault("per_page", 100)
    return [hit.id for hit in ix.search(q, **options).hits]


CATALOGUE = [
    material(
        1,
        "夏季清爽防晒霜 SPF50+",
        "轻薄不油腻，宝妈必备",
        brand="安热沙",
        category="美妆",
        tags=["防晒", "夏季"],
        price_cents=8900,
        has_video=True,
        forward_count=30,
    ),
    material(
        2,
        "法式碎花连衣裙",
        "显瘦百搭，约会通勤都合适",
        brand="ZARA",
        category="服饰",
        tags=["夏季", "女装"],
        price_cents=19900,
        forward_count=5,
    ),
    material(
        3,
        "Summer dress 纯棉",
        "vintage style",
        brand="优衣库",
        category="服饰",
        tags=["女装"],
        price_cents=9900,
        has_video=True,
        forward_count=80,
    ),
    material(
        4,
        "宝宝纸尿裤 超薄透气",
        "新生儿可用，夏天不闷",
        brand="帮宝适",
        category="母婴",
        tags=["宝宝", "夏季"],
        price_cents=12900,
    ),
    material(
        5,
        "保湿面霜",
        "秋冬必备，防晒之后用它",
        brand="兰蔻",
        category="美妆",
        tags=["保湿"],
        price_cents=45000,
        forward_count=2,
    ),
]


@pytest.fixture
def catalogue(index) -> SearchIndex:
    index.upsert(CATALOGUE)
    return index


# -- analysis -------------------------------------------------------------------------------


def test_search_mode_segmentation_finds_words_inside_words(catalogue):
    assert ids(catalogue, "防晒霜") == [1]
    assert ids(catalogue, "防晒")[0] == 1  # the title hit outranks 面霜's copy mention
    assert set(ids(catalogue, "防晒")) == {1, 5}
    assert ids(catalogue, "连衣裙") == [2]
    assert ids(catalogue, "连衣") == [2]
    assert ids(catalogue, "纸尿裤") == [4]
    assert ids(catalogue, "清爽防晒霜") == [1]  # AND across words
    assert ids(catalogue, "防晒霜 连衣裙") == []


def test_brand_category_and_tags_are_searchable_words(catalogue):
    assert ids(catalogue, "安热沙") == [1]
    assert set(ids(catalogue, "母婴")) == {4}
    assert set(ids(catalogue, "女装")) == {2, 3}


def test_pinyin_full_and_initials(catalogue):
    for typed in ("fangshaishuang", "fss", "fangshai", "FSS", "fang shai shuang"):
        assert ids(catalogue, typed) == [1], typed
    assert ids(catalogue, "lianyiqun") == [2]
    assert ids(catalogue, "lyq") == [2]
    assert ids(catalogue, "youyiku") == [3]  # a brand jieba does not know
    assert {"fangshaishuang", "fss", "fangshai", "fs"} <= set(pinyin_terms("防晒霜"))


def test_english_is_case_folded_and_stemmed(catalogue):
    assert ids(catalogue, "Dresses") == [3]
    assert ids(catalogue, "DRESS") == [3]
    assert ids(catalogue, "spf50") == [1]
    assert ids(catalogue, "SPF 50") == [1]


def test_jieba_dictionary_is_not_loaded_at_import():
    code = (
        "import sys, search, search.analysis as a; print(a._jieba is None, 'jieba' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        check=True,
    )
    assert out.stdout.split() == ["True", "False"]


# -- filters, facets, sorts -----------------------------------------------------------------


def test_filters(catalogue):
    assert set(ids(catalogue, tags=["夏季"])) == {1, 2, 4}
    assert set(ids(catalogue, tags=["夏季", "女装"])) == {2}
    assert set(ids(catalogue, brand="ZARA")) == {2}
    assert set(ids(catalogue, brand="zara")) == {2}  # filter values are normalised too
    assert set(ids(catalogue, category="服饰")) == {2, 3}
    assert set(ids(catalogue, price_min=9900, price_max=19900)) == {2, 3, 4}
    assert set(ids(catalogue, price_max=9000)) == {1}
    assert set(ids(catalogue, has_video=True)) == {1, 3}
    assert set(ids(catalogue, has_video=False)) == {2, 4, 5}
    assert set(ids(catalogue, "夏", tags=["夏季"], has_video=False)) == set()
    assert ids(catalogue, "防晒", category="美妆", price_min=40000) == [5]
    assert ids(catalogue, tags=["没有这个标签"]) == []
    assert ids(catalogue, brand="nobody") == []


def test_facets_count_the_whole_filtered_set_not_the_page(catalogue):
    result = catalogue.search("", tags=["夏季"], per_page=1, now=NOW)
    assert result.total == 3 and len(result.hits) == 1
    assert result.facets["tags"] == {"夏季": 3, "防晒": 1, "女装": 1, "宝宝": 1}
    assert result.facets["brand"] == {"安热沙": 1, "zara": 1, "帮宝适": 1}
    assert result.facets["category"] == {"美妆": 1, "服饰": 1, "母婴": 1}
    assert result.facets["has_video"] == {True: 1, False: 2}
    assert list(catalogue.search("", now=NOW).facets["tags"].items())[0] == ("夏季", 3)


def test_sorts_and_pages(catalogue):
    assert ids(catalogue, sort="newest") == [5, 4, 3, 2, 1]
    assert ids(catalogue, sort="forwarded") == [3, 1, 2, 5, 4]
    assert ids(catalogue, "") == [5, 4, 3, 2, 1]  # browsing by relevance means newest
    pages = [ids(catalogue, sort="newest", page=p, per_page=2) for p in (1, 2, 3, 4)]
    assert pages == [[5, 4], [3, 2], [1], []]
    assert catalogue.search("", page=3, per_page=2, now=NOW).total == 5
    with pytest.raises(ValueError):
        catalogue.search("", sort="price", now=NOW)


def test_relevance_prefers_title_matches(index):
    index.upsert(
        [
            material(1, "旅行收纳包", "出门带上防晒霜"),
            material(2, "防晒霜大促", "清爽"),
            material(3, "面膜", "补水"),
        ]
    )
    result = index.search("防晒霜", now=NOW)
    assert [h.id for h in result.hits] == [2, 1]
    assert result.hits[0].score > result.hits[1].score > 0


# -- snippets -------------------------------------------------------------------------------


def test_highlights_are_escaped_html(index):
    index.upsert([material(1, 'Tom & "Jerry" 防晒霜', "好用<script>alert('x')</script>防晒霜")])
    hit = index.search("防晒", now=NOW).hits[0]
    assert hit.title == "Tom &amp; &quot;Jerry&quot; <mark>防晒</mark>霜"
    assert "<script>" not in hit.copy
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in hit.copy
    assert hit.copy.count("<mark>防晒</mark>") == 1
    assert str(index.search("script", now=NOW).hits[0].copy).count("<mark>script</mark>") == 2


def test_long_copy_is_cut_around_the_match(index):
    copy = "前言" * 200 + "这款连衣裙很好看" + "后记" * 200
    index.upsert([material(1, "标题", copy)])
    snippet = str(index.search("连衣裙", now=NOW).hits[0].copy)
    assert snippet.startswith("…") and snippet.endswith("…")
    assert "<mark>连衣裙</mark>" in snippet and len(snippet) < 160
    assert str(index.search("", now=NOW).hits[0].copy).startswith("前言前言")


# -- any string is a query ------------------------------------------------------------------

HOSTILE = [
    '"',
    '"防晒',
    "防晒)",
    "((",
    "[连衣裙",
    "{",
    "AND",
    "OR",
    "NOT",
    "AND OR NOT",
    "防晒 AND",
    "NOT 防晒",
    "*",
    "?",
    "防*",
    "~",
    "^2",
    "title:防晒",
    "tags:夏季",
    ":",
    "\\",
    "\x00\x01\x1f",
    "防\x00晒",
    "🔥🔥🔥",
    "👩‍👩‍👧 防晒",
    "\u200b",
    "'; DROP TABLE materials; --",
    "a" * 10_000,
    "防晒霜" * 4000,
    "%s %d {0}",
    "<script>alert(1)</script>",
    "\ud800",
    "   ",
    "",
    "ｆａｎｇｓｈａｉ",
    "a\nb\tc",
    "防晒\r\n霜",
    "-1",
    "1e309",
    "∞",
    "مرحبا",
    "한국어",
    "カタカナ",
]


@pytest.mark.parametrize("q", HOSTILE)
def test_any_string_is_a_valid_query(catalogue, q):
    result = catalogue.search(q, now=NOW)
    assert result.total >= 0 and len(result.hits) <= 20


def test_hostile_strings_still_find_what_they_contain(catalogue):
    assert ids(catalogue, '"防晒霜') == [1]
    assert ids(catalogue, "防晒霜 AND") == [1]
    assert ids(catalogue, "🔥防晒霜🔥") == [1]
    assert ids(catalogue, "ｆｓｓ") == [1]
    assert len(analyze_query("防晒 " * 5000).words) <= 12


# -- publish windows ------------------------------------------------------------------------


def test_publish_window_is_applied_at_query_time(index):
    opens, closes = NOW + timedelta(hours=1), NOW + timedelta(hours=3)
    index.upsert(
        [
            material(1, "预售防晒霜", publish_at=opens, take_down_at=closes),
            material(2, "常驻防晒霜"),
            material(3, "已下架防晒霜", take_down_at=NOW - timedelta(seconds=1)),
        ]
    )
    assert ids(index, "防晒霜", now=NOW) == [2]
    assert set(ids(index, "防晒霜", now=opens)) == {1, 2}  # publish_at <= now
    assert set(ids(index, "防晒霜", now=closes - timedelta(microseconds=1))) == {1, 2}
    assert ids(index, "防晒霜", now=closes) == [2]  # take_down_at > now
    result = index.search("", now=NOW)
    assert result.total == 1 and result.facets["has_video"] == {True: 0, False: 1}


def test_naive_datetimes_are_utc(index):
    opens = NOW + timedelta(hours=1)
    index.upsert([material(1, "预售", publish_at=opens.replace(tzinfo=None))])
    assert ids(index, now=NOW.replace(tzinfo=None)) == []
    assert ids(index, now=opens.astimezone(timezone_plus_8())) == [1]


def timezone_plus_8():
    from datetime import timezone

    return timezone(timedelta(hours=8))


# -- writing --------------------------------------------------------------------------------


def test_upsert_is_idempotent_and_replaces(index):
    doc = material(1, "防晒霜")
    index.upsert([doc])
    index.upsert([doc])
    index.upsert([doc, doc])
    assert ids(index, "防晒霜") == [1]
    assert index.doc_count() == 1
    index.upsert([{**doc, "title": "连衣裙", "version": 2}])
    assert ids(index, "防晒霜") == []
    assert ids(index, "连衣裙") == [1]
    assert index.versions() == {1: 2}


def test_many_updates_through_merges_keep_one_copy_per_document(index):
    index.upsert([material(i, f"商品{i} 防晒霜") for i in range(20)])
    assert index.search("防晒霜", now=NOW).total == 20  # a reader is open from here on
    for round_ in range(15):  # enough commits for whoosh to merge segments several times
        index.upsert([material(round_ % 20, "防晒霜 新版", version=round_ + 2)])
        assert index.search("防晒霜", now=NOW).total == 20
        assert index.doc_count() == 20
    assert sorted(ids(index, "防晒霜")) == list(range(20))


def test_delete(catalogue):
    assert catalogue.delete([1, 999]) == 1
    assert ids(catalogue, "防晒霜") == []
    assert catalogue.doc_count() == 4
    assert catalogue.delete([]) == 0
    assert catalogue.delete([1]) == 0


def test_apply_deletes_and_upserts_in_one_commit(catalogue):
    catalogue.apply(upserts=[material(9, "新品连衣裙")], deletes=[2, 3])
    assert ids(catalogue, "连衣裙") == [9]
    assert set(catalogue.versions()) == {1, 4, 5, 9}


def test_versions_and_string_ids(index):
    index.upsert(
        [
            material(1, "a", version=3),
            {"id": "_position", "version": 77, "take_down_at": datetime(2000, 1, 1)},
        ]
    )
    assert index.versions() == {1: 3, "_position": 77}
    assert ids(index) == [1]  # the closed window hides the bookkeeping document


def test_rebuild_replaces_everything(catalogue):
    assert catalogue.rebuild(material(i, f"第{i}号 连衣裙") for i in range(10, 15)) == 5
    assert sorted(ids(catalogue, "连衣裙")) == [10, 11, 12, 13, 14]
    assert ids(catalogue, "防晒霜") == []
    catalogue.clear()
    assert catalogue.doc_count() == 0
    assert catalogue.search("", now=NOW).total == 0


def test_rebuild_with_several_processes(index):
    docs = [material(i, f"第{i}号 连衣裙", tags=["女装"]) for i in range(600)]
    assert index.rebuild(docs, procs=2) == 600
    result = index.search("连衣裙", tags=["女装"], now=NOW)
    assert result.total == 600 and result.facets["tags"] == {"女装": 600}


# -- readers --------------------------------------------------------------------------------


def test_a_reader_sees_another_instances_commits(tmp_path):
    writer = SearchIndex.open_or_create(tmp_path / "ix")
    reader = SearchIndex.open_or_create(tmp_path / "ix")
    assert ids(reader, "防晒霜") == []
    writer.upsert([material(1, "防晒霜")])
    assert ids(reader, "防晒霜") == [1]
    writer.upsert([material(1, "防晒霜 二代", version=2)])
    assert ids(reader, "防晒霜") == [1]
    writer.delete([1])
    assert ids(reader, "防晒霜") == []


def test_a_reader_notices_the_index_was_recreated(tmp_path):
    reader = SearchIndex.open_or_create(tmp_path / "ix")
    SearchIndex.open_or_create(tmp_path / "ix").upsert([material(1, "防晒霜")])
    assert ids(reader, "防晒霜") == [1]
    # Same generation number, different index: must not be mistaken for the open one.
    fresh = SearchIndex.recreate(tmp_path / "ix")
    fresh.upsert([material(2, "连衣裙")])
    assert ids(reader, "防晒霜") == []
    assert ids(reader, "连衣裙") == [2]


def test_concurrent_searches_while_writing(index):
    index.upsert([material(i, f"防晒霜 {i}", tags=["夏季"]) for i in range(50)])
    errors, totals = [], []

    def searcher():
        try:
            for n in range(40):
                result = index.search("防晒霜", tags=["夏季"], now=NOW, page=1 + n % 3)
                totals.append(result.total)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=searcher) for _ in range(4)]
    for t in threads:
        t.start()
    for v in range(10):
        index.upsert([material(v, f"防晒霜 {v}", tags=["夏季"], version=v + 2)])
    for t in threads:
        t.join()
    assert errors == []
    assert set(totals) == {50}


# -- damage ---------------------------------------------------------------------------------


def test_garbled_segment_raises_index_corrupt(tmp_path):
    path = tmp_path / "ix"
    SearchIndex.open_or_create(path).upsert([material(i, f"防晒霜{i}") for i in range(50)])
    for f in path.glob("*.seg"):
        f.write_bytes(b"\x00garbage" * 1000)
    with pytest.raises(IndexCorrupt):
        SearchIndex.open_or_create(path).search("防晒霜", now=NOW)
    rebuilt = SearchIndex.recreate(path)
    assert rebuilt.doc_count() == 0


def test_garbled_toc_raises_index_corrupt(tmp_path):
    path = tmp_path / "ix"
    SearchIndex.open_or_create(path).upsert([material(1, "防晒霜")])
    for f in path.glob("*.toc"):
        f.write_bytes(b"not a toc")
    with pytest.raises(IndexCorrupt):
        SearchIndex.open_or_create(path)


def test_index_from_another_schema_version_must_be_rebuilt(tmp_path):
    path = tmp_path / "ix"
    SearchIndex.open_or_create(path).set_meta(log_position=12)
    current = f'"schema_version": {SCHEMA_VERSION}'
    meta = (path / "meta.json").read_text().replace(current, '"schema_version": 0')
    (path / "meta.json").write_text(meta)
    with pytest.raises(IndexCorrupt, match="rebuild"):
        SearchIndex.open_or_create(path)


def test_segment_files_without_a_toc_are_corrupt(tmp_path):
    path = tmp_path / "ix"
    SearchIndex.open_or_create(path).upsert([material(1, "防晒霜")])
    for f in path.glob("*.toc"):
        f.unlink()
    with pytest.raises(IndexCorrupt):
        SearchIndex.open_or_create(path)


def test_meta_round_trip(index):
    index.set_meta(log_position=41)
    index.set_meta(node="a")
    meta = index.meta()
    assert meta["log_position"] == 41 and meta["node"] == "a"
    assert meta["schema_version"] == SCHEMA_VERSION


# -- the fast readers agree with whoosh's public API ------------------------------------------


def test_fast_segment_readers_match_whoosh(index, monkeypatch):
    # Small posting blocks, so that 700 documents make several per term.
    monkeypatch.setattr(search.index, "Codec", lambda: Codec(blocklimit=128))
    docs = [
        material(
            i,
            f"防晒霜 {'连衣裙 ' * (i % 7)}",
            f"{'清爽' * (i % 5)}",
            tags=["夏季", f"标签{i % 3}"][: 1 + i % 2],
            forward_count=i * 3,
            price_cents=None if i % 4 else i,
        )
        for i in range(700)
    ]
    index.upsert(docs)
    index.delete([*range(0, 300), *range(300, 700, 9)])  # whole leading blocks deleted
    index.search("", now=NOW)
    with index._lock:
        snap = index._current()
        for leaf in snap.leaves:
            reader = leaf.reader
            for field, text in [
                ("title", "防晒霜"),
                ("title", "连衣裙"),
                ("copy", "清爽"),
                ("tags", "夏季"),
                ("pinyin", "fss"),
                ("title", "nothing"),
            ]:
                fast_ids, fast_w = seg.postings(reader, field, text)
                if (field, text) in reader:
                    slow = reader.postings(field, text)
                    if hasattr(slow, "child"):
                        slow = slow.child
                        slow.reset()
                    if text == "防晒霜":  # the case this test is for: several blocks
                        assert slow._blocklength < len(fast_ids)
                    slow_ids, slow_w = seg.postings_slow(slow)
                else:
                    slow_ids, slow_w = np.empty(0), np.empty(0)
                assert np.array_equal(fast_ids, slow_ids) and np.allclose(fast_w, slow_w)
            forwards = [
                reader.column_reader("forward_count")[d] for d in range(reader.doc_count_all())
            ]
            assert seg.int_column(reader, "forward_count").tolist() == forwards
            prices = seg.int_column(reader, "price_cents")
            assert {int(p) for p in prices} <= {-1} | set(range(0, 700, 4))
            values = leaf.values
            docs = np.arange(0, values.size, 3)
            slow_codes = values.tag_code[np.isin(values.tag_doc, docs)]
            assert sorted(values.tag_codes_of(docs)) == sorted(slow_codes)
            lengths = [
                reader.doc_field_length(d, "title") or 0 for d in range(reader.doc_count_all())
            ]
            assert seg.field_lengths(reader, "title").tolist() == lengths


def test_recreate_waits_for_the_write_lock(tmp_path):
    index = SearchIndex.open_or_create(tmp_path / "ix")
    writer = index._ix.writer()  # a commit in progress elsewhere
    with pytest.raises(IndexBusy):
        SearchIndex.recreate(tmp_path / "ix", writer_timeout=0.3)
    writer.cancel()
    assert SearchIndex.recreate(tmp_path / "ix", writer_timeout=0.3).doc_count() == 0


def test_a_second_writer_waits_then_gives_up(tmp_path):
    index = SearchIndex.open_or_create(tmp_path / "ix", writer_timeout=0.3)
    writer = index._ix.writer()
    with pytest.raises(IndexBusy):
        index.upsert([material(1, "防晒霜")])
    writer.cancel()
    index.upsert([material(1, "防晒霜")])
    assert ids(index, "防晒霜") == [1]


def test_a_failed_commit_releases_the_write_lock(index, monkeypatch):
    from whoosh.writing import SegmentWriter

    def broken_commit(self, *args, **kwargs):
        self._merge_segments(None, None, None)
        raise OSError("disk full")

    monkeypatch.setattr(SegmentWriter, "commit", broken_commit)
    with pytest.raises(OSError, match="disk full"):
        index.upsert([material(1, "防晒霜")])
    monkeypatch.undo()
    index.upsert([material(2, "连衣裙")])  # would wait for the lock, then raise IndexBusy
    assert ids(index, "连衣裙") == [2] and ids(index, "防晒霜") == []
