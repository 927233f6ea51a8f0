import io
import json

from openpyxl import load_workbook

from core.spreadsheet import cell
from tests.factories import make_post, make_source


def test_cell_quotes_formulas_and_drops_illegal_characters():
    assert cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert cell("-1+1") == "'-1+1"
    assert cell("投诉\x00窗口\x1b推诿\n第二行") == "投诉窗口推诿\n第二行"
    assert cell(42) == 42


def test_post_export_survives_hostile_crawled_text(yuqing, session, tmp_path):
    source = make_source(session, name="论坛")
    make_post(session, source=source, title="=cmd|' /C calc'!A0", text="控制\x07字符\x1f的帖子")
    session.commit()
    out = tmp_path / "posts.xlsx"
    result = yuqing("export", "posts", "--format", "xlsx", "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = list(load_workbook(io.BytesIO(out.read_bytes())).active.values)
    header, row = rows[0], rows[1]
    record = dict(zip(header, row, strict=True))
    assert record["title"].startswith("'=")
    assert record["text"] == "控制字符的帖子"
    jsonl = yuqing("export", "posts")
    assert json.loads(jsonl.stdout.splitlines()[0])["title"] == "=cmd|' /C calc'!A0"
