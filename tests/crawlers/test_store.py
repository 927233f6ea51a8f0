from sqlalchemy import func, select

from crawlers.models import Post, PostDuplicate
from crawlers.pipelines import CleanPipeline
from crawlers.sources import SourceConfig
from crawlers.store import save_batch_safely, sync_sources


def items(*pairs):
    clean = CleanPipeline()
    return [clean.process_item({"url": u, "title": "t", "text": text}) for u, text in pairs]


def test_batch_stores_once_and_records_content_twins(session):
    rows = sync_sources(
        session=session,
        configs=[
            SourceConfig(name="s", kind="feed", url="http://x.cn/f", tags={"place": "福田区"})
        ],
    )
    session.commit()
    source = rows["s"]
    assert source.tags == {"place": "福田区"} and source.url == "http://x.cn/f"
    batch = items(
        ("http://x.cn/1", "甲"),
        ("http://x.cn/1?utm_source=wx#top", "甲"),  # same canonical URL
        ("http://x.cn/copy/1", "甲"),  # same content, other URL
        ("http://x.cn/2", "乙"),
    )
    first = save_batch_safely(session=session, source_id=source.id, run_id=None, items=batch)
    assert (first.new, first.duplicate) == (2, 2)
    again = save_batch_safely(session=session, source_id=source.id, run_id=None, items=batch)
    assert (again.new, again.duplicate) == (0, 4)
    assert session.scalar(select(func.count()).select_from(Post)) == 2
    dup = session.scalars(select(PostDuplicate)).one()
    assert dup.canonical_url == "http://x.cn/copy/1" and dup.reason == "content"
    assert session.get(Post, dup.post_id).canonical_url == "http://x.cn/1"
