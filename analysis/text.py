"""Text normalization (scraped dirt to clean simplified Chinese) and jieba segmentation."""

from __future__ import annotations

import html
import logging
import re
import threading
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"

# full-width ASCII (U+FF01..U+FF5E) and the ideographic space fold to ASCII
_FULLWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

_TAG_RE = re.compile(r"<\s*(?:[a-zA-Z][a-zA-Z0-9]*|/[a-zA-Z]|!--|!DOCTYPE)", re.I)
_TONE = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿê"
_TONE_BASE = str.maketrans(_TONE, "aaaaeeeeiiiioooouuuuvvvvvnnnme")
# a CJK character followed by a bracketed pinyin syllable: 指導(dǎo) -> 指導
_PINYIN_RE = re.compile(rf"(?<=[\u3400-\u9fff])[(（]([a-z{_TONE}]{{1,6}}[1-5]?)[)）]")
_SYLLABLE_RE = re.compile(
    r"^(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?"
    r"(?:a|o|e|ai|ei|ao|ou|an|en|ang|eng|ong|er|i|u|v|n|ng|in|ing|un|ue|ve|iu|ui|ie|ia|iao|ian|"
    r"iang|iong|ua|uo|uai|uan|uang|van|vn)[1-5]?$"
)
_MASK_RE = re.compile(r"[*＊]{2,}")
_SPACES_RE = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200b\u202f\u205f\ufeff]+")
_NEWLINES_RE = re.compile(r"\s*\n\s*")

# spans kept whole as features: URLs, @mentions, Weibo [表情] codes, #话题#, emoji
URL_RE = re.compile(
    r"https?://[^\s\u3000-\u303f\uff00-\uffef\u4e00-\u9fff]+|www\.[a-z0-9.-]+\.[a-z]{2,}\S*", re.I
)
MENTION_RE = re.compile(r"@[\w\u4e00-\u9fff-]{1,30}")
_SPECIAL_RE = re.compile(
    URL_RE.pattern
    + r"|"
    + MENTION_RE.pattern
    + r"|\[[\u4e00-\u9fffA-Za-z]{1,8}\]"
    + r"|[\U0001F300-\U0001FAFF\u2600-\u27BF\U0001F000-\U0001F2FF]",
    re.I,
)

log = logging.getLogger(__name__)
_lock = threading.Lock()


def _lines(name: str) -> list[str]:
    """Non-empty, non-comment lines of a data file."""
    path = DATA_DIR / name
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


@lru_cache(maxsize=1)
def _boilerplate() -> list[re.Pattern[str]]:
    patterns = []
    for line in _lines("boilerplate.txt"):
        try:
            patterns.append(re.compile(line, re.S))
        except re.error as exc:
            raise ValueError(f"analysis/data/boilerplate.txt: bad pattern {line!r}: {exc}") from exc
    return patterns


@lru_cache(maxsize=1)
def _opencc() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """The stopwords of analysis/data/stopwords.txt."""
    return frozenset(_lines("stopwords.txt"))


def html_to_text(text: str) -> str:
    """Visible text of an HTML fragment, block elements becoming line breaks."""
    import lxml.html

    try:
        root = lxml.html.fromstring(text)
    except Exception:  # not parseable as HTML: keep the text, drop anything tag-shaped
        return re.sub(r"<[^>]{0,200}>", " ", text)
    for bad in root.xpath("//script|//style|//noscript"):
        bad.drop_tree()
    for br in root.xpath("//br|//p|//div|//li|//tr|//h1|//h2|//h3|//h4"):
        br.tail = "\n" + (br.tail or "")
    return root.text_content()


def _drop_pinyin(match: re.Match[str]) -> str:
    syllable = match.group(1).translate(_TONE_BASE)
    return "" if _SYLLABLE_RE.match(syllable) else match.group(0)


def normalize(text: str) -> str:
    """Clean scraped text: HTML, traditional->simplified, pinyin notes, full width, boilerplate."""
    if not text:
        return ""
    if "<" in text and _TAG_RE.search(text):
        text = html_to_text(text)
    if "&" in text:
        text = html.unescape(text)
    text = text.translate(_FULLWIDTH)
    text = _PINYIN_RE.sub(_drop_pinyin, text)
    text = _opencc().convert(text)
    text = unicodedata.normalize("NFC", text)
    # masked characters (身份证号 ****, censored words) become one 缺字 mark
    text = _MASK_RE.sub("□", text)
    for pattern in _boilerplate():
        text = pattern.sub("", text)
    text = _SPACES_RE.sub(" ", text)
    text = _NEWLINES_RE.sub("\n", text)
    return text.strip()


def _cache_dir() -> Path | None:
    try:
        from core.config import get_settings

        path = get_settings().data_dir / "cache"
        path.mkdir(parents=True, exist_ok=True)
        return path
    except Exception as exc:  # settings broken or dir read-only: jieba falls back to no cache
        log.debug("no jieba cache dir: %s", exc)
        return None


_tokenizer: Any = None


def tokenizer() -> Any:
    """The process-wide jieba tokenizer with the domain dictionary (loaded once)."""
    global _tokenizer
    if _tokenizer is not None:
        return _tokenizer
    with _lock:
        if _tokenizer is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            tok = jieba.Tokenizer()
            cache = _cache_dir()
            if cache is not None:
                tok.tmp_dir = str(cache)
                tok.cache_file = "jieba.cache"
            tok.initialize()
            for line in _lines("userdict.txt"):
                parts = line.split()
                freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
                tag = parts[2] if len(parts) > 2 else None
                tok.add_word(parts[0], freq, tag)
            _tokenizer = tok
    return _tokenizer


def segment(text: str) -> list[str]:
    """jieba words of a text (domain dictionary); URLs, @mentions, emoji stay whole tokens."""
    tok = tokenizer()
    out: list[str] = []
    pos = 0
    for match in _SPECIAL_RE.finditer(text):
        if match.start() > pos:
            out.extend(tok.lcut(text[pos : match.start()]))
        out.append(match.group(0))
        pos = match.end()
    if pos < len(text):
        out.extend(tok.lcut(text[pos:]))
    return [w for w in out if w.strip()]


_NEGATORS = frozenset({"不", "没", "没有", "未", "别", "无", "非", "不是", "并非", "从未", "从不"})
_PUNCT_RE = re.compile(r"^[\W_]+$")


def feature_tokens(words: list[str]) -> list[str]:
    """Model tokens: stopwords and punctuation dropped, URLs/@ folded, negation marked."""
    stop = stopwords()
    out: list[str] = []
    negate = 0
    for word in words:
        if word.startswith(("http", "www.")):
            out.append("<URL>")
            continue
        if word.startswith("@"):
            out.append("<AT>")
            continue
        if _PUNCT_RE.match(word) and not (len(word) == 1 and ord(word) > 0x2600):
            negate = 0
            continue
        if word in stop:
            continue
        if word in _NEGATORS:
            negate = 2
            out.append(word)
            continue
        if negate:
            out.append("不_" + word)
            negate -= 1
        out.append(word)
    return out
