"""Text out of HTML: fragments (feed entries, selected nodes) and whole pages (trafilatura)."""

from __future__ import annotations

import re
from typing import Any

import lxml.html
from lxml import etree

_BLOCK_TAGS = {
    "p",
    "div",
    "br",
    "li",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "section",
    "article",
    "pre",
    "table",
    "ul",
    "ol",
    "dd",
    "dt",
    "hr",
}
_DROP_TAGS = ("script", "style", "noscript", "template", "iframe")
_SPACES = re.compile(r"[ \t\u00a0\u3000\r\f\v]+")
_NEWLINES = re.compile(r"\n\s*\n+")


def clean_text(text: str) -> str:
    """Collapse runs of spaces, trim each line, keep single blank-line paragraph breaks."""
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").split("\n")]
    joined = "\n".join(lines)
    return _NEWLINES.sub("\n", joined).strip()


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment, with line breaks where blocks end."""
    if not fragment or "<" not in fragment:
        return clean_text(fragment or "")
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return clean_text(re.sub(r"<[^>]+>", " ", fragment))
    return element_text(root)


def element_text(root: Any) -> str:
    """Plain text of a parsed element, scripts dropped, blocks on their own lines."""
    for bad in root.iter(*_DROP_TAGS):
        bad.drop_tree()
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.lower() in _BLOCK_TAGS:
            el.tail = "\n" + (el.tail or "")
            if el.tag.lower() == "br":
                continue
            el.text = "\n" + (el.text or "")
    return clean_text(root.text_content())


def main_text(html: str, url: str = "") -> dict[str, str]:
    """Main text, title, author and date of a whole page, found by trafilatura without selectors."""
    import trafilatura

    doc = trafilatura.bare_extraction(
        html,
        url=url or None,
        include_comments=False,
        include_tables=True,
        with_metadata=True,
    )
    if doc is None:
        return {"text": "", "title": "", "author": "", "date": ""}
    if not isinstance(doc, dict):
        doc = doc.as_dict()
    return {
        "text": clean_text(doc.get("text") or ""),
        "title": (doc.get("title") or "").strip(),
        "author": (doc.get("author") or "").strip(),
        "date": (doc.get("date") or "").strip(),
    }
