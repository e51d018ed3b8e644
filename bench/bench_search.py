"""Search benchmark: build, query latency and freshness on a synthetic material library.

    .venv/bin/python bench/bench_search.py [--n 100000] [--procs 2] [--limitmb 1024]
        [--corpus small|realistic]
    .venv/bin/python bench/bench_search.py --n 10000        # a quick run

The corpus is generated deterministically (seeded per material), see bench/corpus.py: `small`
(five categories of real product vocabulary, ~440 title terms: the original, kind case) or
`realistic` (a long-tailed vocabulary drawn from jieba's dictionary by its frequencies, a few
thousand brands with models, sizes, thousands of tags). Prints full build time, index size,
p50/p95 query latency per query type (top 20 with facets), the same queries through whoosh's
stock Searcher.search with groupedby facets on the same index as a baseline, freshness lag
under a steady stream of single-document edits, and profiles of what dominated the build and
the queries.
"""

from __future__ import annotations

import argparse
import cProfile
import io
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
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from whoosh import query as wq  # noqa: E402
from whoosh import sorting  # noqa: E402
from whoosh.util.times import datetime_to_long  # noqa: E402

from bench.corpus import CORPORA, NOW, SEED  # noqa: E402
from bench.timing import ms, percentile, summary  # noqa: E402
from search import SearchIndex  # noqa: E402
from search.analysis import analyze_query, normalize_value, warm_up  # noqa: E402
from search.engine import alternatives  # noqa: E402
from search.schema import PINYIN_BOOST, PINYIN_FIELD, as_utc_naive  # noqa: E402


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


def build_breakdown(sample: int, make_doc: Callable[[int], dict]) -> dict[str, float]:
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


def build(path: Path, n: int, procs: int, limitmb: int, make_doc: Callable[[int], dict]) -> dict:
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


def editor(
    path: str, edits: int, interval: float, first_id: int, n: int, out, make_doc: Callable
) -> None:
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


def freshness(
    path: Path, n: int, edits: int, rate: float, sets, make_doc: Callable[[int], dict]
) -> None:
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=editor, args=(str(path), edits, 1 / rate, 0, n, queue, make_doc))
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
    parser.add_argument(
        "--corpus", choices=sorted(CORPORA), default="small", help="bench/corpus.py"
    )
    args = parser.parse_args()
    corpus = CORPORA[args.corpus]

    path = Path(args.dir or tempfile.mkdtemp(prefix="sucai-bench-"))
    if path.exists():
        shutil.rmtree(path)
    print(
        f"corpus: {args.n} materials ({corpus.name}), build with procs={args.procs}"
        f" limitmb={args.limitmb}"
        f" on {os.cpu_count()} cores; index in {path}"
    )
    try:
        warm_up()
        breakdown = build_breakdown(min(5000, args.n), corpus.doc)
        built = build(path, args.n, args.procs, args.limitmb, corpus.doc)
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
        sets = corpus.query_sets(args.queries)
        ours = run_queries(ix, sets, profile=not args.no_profile)
        if not args.no_baseline:
            run_baseline(ix, sets, ours, min(args.baseline_queries, args.queries))
        freshness(path, args.n, args.edits, args.rate, sets, corpus.doc)
    finally:
        if not args.dir:
            shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()
