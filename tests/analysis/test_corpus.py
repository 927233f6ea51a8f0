"""The training corpus: valid rows, full coverage, no near-duplicates, nothing copied."""

from __future__ import annotations

import json
import re
from collections import Counter

from analysis.taxonomy import load_taxonomy
from analysis.training import corpus_files, read_jsonl_examples
from tests.conftest import shared_data

_NOISE = re.compile(r"[\s\W_]+")
# a shared run this long (punctuation and spaces removed) is copying, not a common phrase;
# the longest run a stock phrase reached when this was written is a 22-character document title
COPIED_RUN = 30


def _rows() -> list[dict]:
    return [json.loads(line) for path in corpus_files() for line in path.open(encoding="utf-8")]


def test_corpus_rows_are_valid_and_cover_every_topic_and_sentiment() -> None:
    examples = read_jsonl_examples(corpus_files())  # raises on any invalid row
    rows = _rows()
    assert len(examples) == len(rows) >= 2000
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    assert {r["genre"] for r in rows} == {"board", "weibo", "forum", "news", "wechat"}
    cells = Counter((topic, r["sentiment"]) for r in rows if r["relevant"] for topic in r["topics"])
    thin = [
        (code, s)
        for code in load_taxonomy()
        for s in ("negative", "neutral", "positive")
        if cells[(code, s)] < 30
    ]
    assert not thin, f"topic x sentiment cells with under 30 posts: {thin}"
    assert sum(not r["relevant"] for r in rows) >= 800  # hard negatives


def test_corpus_has_no_near_duplicates() -> None:
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=0.6, num_perm=64)
    pairs = []
    for r in _rows():
        text = _NOISE.sub("", r["title"] + r["text"])
        shingles = {text[i : i + 4].encode() for i in range(max(1, len(text) - 3))}
        mh = MinHash(num_perm=64)
        mh.update_batch(shingles)
        pairs += [(r["id"], other) for other in lsh.query(mh)]
        lsh.insert(r["id"], mh)
    assert not pairs, f"near-duplicate corpus posts: {pairs[:10]}"


def test_corpus_copies_nothing_from_the_shared_real_posts() -> None:
    runs: dict[str, str] = {}
    for r in _rows():
        text = _NOISE.sub("", r["title"] + r["text"])
        for i in range(len(text) - COPIED_RUN + 1):
            runs.setdefault(text[i : i + COPIED_RUN], r["id"])
    copied = set()
    with shared_data("posts", "messages.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            msg = json.loads(line)
            text = _NOISE.sub("", (msg.get("title") or "") + msg["text"])
            for i in range(len(text) - COPIED_RUN + 1):
                if text[i : i + COPIED_RUN] in runs:
                    copied.add(runs[text[i : i + COPIED_RUN]])
    assert not copied, f"corpus posts sharing {COPIED_RUN} characters with real posts: {copied}"
