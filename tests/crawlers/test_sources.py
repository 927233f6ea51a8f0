from pathlib import Path

import pytest

from core.errors import UserError
from crawlers.sources import load_sources, parse_sources

ROOT = Path(__file__).resolve().parents[2]


def test_example_file_is_valid():
    sources = load_sources(ROOT / "sources.example.toml")
    kinds = {s.kind for s in sources}
    assert kinds == {"feed", "html", "json"}
    board = next(s for s in sources if s.name == "街道领导留言板")
    assert board.weight == 2.0 and board.tags["place"] == "福田区"
    assert board.interval == 60 and board.enabled


def refused(text: str) -> str:
    with pytest.raises(UserError) as info:
        parse_sources(text, Path("s.toml"))
    return info.value.message


GOOD_HTML = 'name = "b"\nkind = "html"\nstart_urls = ["http://x.cn/"]\nlink_selector = "a"\n'


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        ('name = "a"\nkind = "ftp"\nurl = "http://x"', ["'a'", "'kind'", "ftp"]),
        ('name = "a"\nkind = "feed"', ["'a'", "'url'", "missing"]),
        ('name = "a"\nkind = "feed"\nurl = "ftp://x"', ["'url'", "not an http"]),
        (GOOD_HTML + 'text_selector = "div[["', ["'b'", "'text_selector'", "bad CSS"]),
        (GOOD_HTML + "interval = 0", ["'interval'"]),
        (GOOD_HTML + 'colour = "red"', ["'colour'", "unknown field"]),
        (GOOD_HTML + 'engagement = { hearts = "b" }', ["engagement.hearts"]),
        (
            'name = "j"\nkind = "json"\nurl = "http://x/?p={page}"\nitems_path = "data.["\n'
            'text_path = "t"\nurl_path = "u"',
            ["'j'", "'items_path'", "JMESPath"],
        ),
        ('name = "a"\nkind = "feed"\nurl = "http://x"\nencoding = "klingon"', ["'encoding'"]),
        ('name = "a"\nkind = "feed"\nurl = "http://x"\nenabled = "yes"', ["'enabled'"]),
    ],
)
def test_bad_source_is_refused_naming_file_source_and_field(body, fragments):
    message = refused("[[source]]\n" + body + "\n")
    assert message.startswith("s.toml")
    for fragment in fragments:
        assert fragment in message


def test_duplicate_names_are_refused():
    message = refused(
        '[[source]]\nname = "a"\nkind = "feed"\nurl = "http://x"\n'
        '[[source]]\nname = "a"\nkind = "feed"\nurl = "http://y"\n'
    )
    assert "'a'" in message and "duplicate" in message


def test_invalid_toml_and_missing_file(tmp_path):
    assert "not valid TOML" in refused("[[source]\n")
    with pytest.raises(UserError, match="not found"):
        load_sources(tmp_path / "nope.toml")
