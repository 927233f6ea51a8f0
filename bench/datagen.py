"""Large benchmark data sets made by mixing and perturbing real and hand-written posts.

Not one post repeated: every generated post is a real message from ../shared/data (32,980
government-board messages) or a post of the project's training corpus, perturbed so that no two are
identical: sentences of two posts of the same kind are spliced, place names swapped among
Shenzhen's districts and sub-districts, numbers changed, a sentence dropped or repeated, a
trailing remark added. Benchmarks that use it say so ("mixed and perturbed from N seed posts").

    from bench.datagen import generate_posts
    for post in generate_posts(100_000, seed=1):   # dicts: id, title, text, genre, origin
        ...
    python -m bench.datagen 1000 > posts.jsonl     # JSON Lines on stdout
"""

from __future__ import annotations

import json
import random
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIR = ROOT / "analysis" / "data" / "corpus"
SHARED_MESSAGES = ROOT.parent / "shared" / "data" / "posts" / "messages.jsonl"

PLACES = [
    "民治街道",
    "龙华街道",
    "大浪街道",
    "观湖街道",
    "福城街道",
    "观澜街道",
    "莲花街道",
    "粤海街道",
    "新安街道",
    "西乡街道",
    "布吉街道",
    "坂田街道",
    "南湾街道",
    "横岗街道",
    "沙井街道",
    "福永街道",
    "石岩街道",
    "桃源街道",
    "蛇口街道",
    "华富街道",
    "园岭街道",
    "翠竹街道",
    "东门街道",
    "葵涌街道",
]
DISTRICTS = [
    "龙华区",
    "福田区",
    "南山区",
    "宝安区",
    "龙岗区",
    "罗湖区",
    "光明区",
    "坪山区",
    "盐田区",
]
TAILS = [
    "",
    "",
    "",
    "希望有关部门重视。",
    "谢谢！",
    "急盼回复。",
    "麻烦尽快处理。",
    "大家怎么看？",
    "有同样情况的吗？",
    "在线等。",
    "[怒]",
    "[泪]",
    "顶一下",
    "请领导关注。",
]
_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]?")
_PLACE = re.compile("|".join(map(re.escape, PLACES)))
_DISTRICT = re.compile("|".join(map(re.escape, DISTRICTS)))
_NUMBER = re.compile(r"\d+")


def load_seeds(*, corpus: bool = True, shared: bool = True) -> list[dict[str, Any]]:
    """The seed posts: the training corpus and the shared real messages (when present)."""
    seeds: list[dict[str, Any]] = []
    if corpus:
        for path in sorted(CORPUS_DIR.glob("*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    seeds.append(
                        {
                            "title": row.get("title", ""),
                            "text": row.get("text", ""),
                            "genre": row.get("genre", "board"),
                            "origin": "corpus",
                        }
                    )
    if shared and SHARED_MESSAGES.is_file():
        with SHARED_MESSAGES.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    row = json.loads(line)
                    seeds.append(
                        {
                            "title": row.get("title", ""),
                            "text": row.get("text", ""),
                            "genre": "board",
                            "origin": "shared",
                        }
                    )
    if not seeds:
        raise SystemExit("no seed posts: analysis/data/corpus and ../shared/data are both missing")
    return seeds


def perturb(first: dict[str, Any], second: dict[str, Any], rng: random.Random, n: int) -> dict:
    """A new post from two seeds: spliced sentences, swapped places and numbers, a new tail."""
    a = _SENTENCE.findall(first["text"]) or [first["text"]]
    b = _SENTENCE.findall(second["text"]) or [second["text"]]
    cut_a = rng.randint(1, len(a)) if len(a) > 1 else 1
    cut_b = rng.randint(0, len(b) - 1) if len(b) > 1 else len(b)
    sentences = a[:cut_a] + b[cut_b:]
    if len(sentences) > 2 and rng.random() < 0.3:
        sentences.pop(rng.randrange(1, len(sentences)))
    if rng.random() < 0.1:
        sentences.append(rng.choice(sentences))
    text = "".join(sentences) + rng.choice(TAILS)
    text = _PLACE.sub(lambda _: rng.choice(PLACES), text)
    text = _DISTRICT.sub(lambda _: rng.choice(DISTRICTS), text)
    text = _NUMBER.sub(
        lambda m: (
            str(max(1, int(m.group()) + rng.randint(-3, 5))) if len(m.group()) < 6 else m.group()
        ),
        text,
    )
    title = first["title"] or text[:24]
    if rng.random() < 0.3:
        title = _PLACE.sub(lambda _: rng.choice(PLACES), title)
    return {
        "id": f"g{n}",
        "title": title,
        "text": text,
        "genre": first["genre"],
        "origin": f"mixed:{first['origin']}+{second['origin']}",
    }


def generate_posts(
    count: int, *, seed: int = 1, seeds: list[dict[str, Any]] | None = None
) -> Iterator[dict[str, Any]]:
    """`count` distinct posts mixed and perturbed from the seed posts, reproducibly."""
    rng = random.Random(seed)
    pool = seeds if seeds is not None else load_seeds()
    by_origin: dict[str, list[dict[str, Any]]] = {}
    for row in pool:
        by_origin.setdefault(row["origin"], []).append(row)
    for n in range(1, count + 1):
        first = rng.choice(pool)
        # splice with a post of the same origin so board letters stay board letters
        second = rng.choice(by_origin[first["origin"]])
        yield perturb(first, second, rng, n)


def describe(seeds: list[dict[str, Any]]) -> str:
    """One line saying what the generated data is made of (benchmarks print it)."""
    corpus = sum(1 for s in seeds if s["origin"] == "corpus")
    shared = len(seeds) - corpus
    return (
        f"mixed and perturbed from {len(seeds):,} seed posts "
        f"({corpus:,} training-corpus posts, {shared:,} shared real messages)"
    )


def main(argv: list[str] | None = None) -> int:
    """Write N generated posts as JSON Lines to standard output."""
    argv = sys.argv[1:] if argv is None else argv
    count = int(argv[0]) if argv else 1000
    seeds = load_seeds()
    print(describe(seeds), file=sys.stderr)
    for post in generate_posts(count, seeds=seeds):
        sys.stdout.write(json.dumps(post, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
