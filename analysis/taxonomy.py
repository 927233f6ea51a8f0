"""The topic taxonomy, a data file (analysis/data/taxonomy.toml)."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from core.errors import UserError

TAXONOMY_FILE = Path(__file__).resolve().parent / "data" / "taxonomy.toml"


def read_taxonomy(path: Path | None = None) -> list[dict[str, str]]:
    """Topic entries (code, label, description) in display order, validated."""
    path = path or TAXONOMY_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"{path}: cannot read the taxonomy: {exc}") from exc
    entries = []
    for i, topic in enumerate(data.get("topic", []), start=1):
        code, label = topic.get("code"), topic.get("label")
        if not isinstance(code, str) or not code.isidentifier():
            raise UserError(f"{path}: topic #{i} needs a `code` (letters, digits, underscores)")
        if not isinstance(label, str) or not label.strip():
            raise UserError(f"{path}: topic {code!r} needs a `label`")
        entries.append({"code": code, "label": label, "description": topic.get("description", "")})
    if len({e["code"] for e in entries}) != len(entries):
        raise UserError(f"{path}: two topics share a code")
    return entries


@lru_cache(maxsize=1)
def load_taxonomy() -> dict[str, str]:
    """Topic code -> Chinese label, in display order."""
    return {e["code"]: e["label"] for e in read_taxonomy()}
