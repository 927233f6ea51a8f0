"""End to end: posts crawled from the test site, `yuqing analyze`, `yuqing alerts evaluate`."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from alerts.models import Alert
from alerts.service import post_ids_of
from crawlers.models import Post
from tests.testsite import TestSite

pytestmark = pytest.mark.slow

COMPLAINT = {
    "title": "莲花街道计生办窗口办理生育登记太慢，工作人员推诿",
    "text": "今天上午去福田区莲花街道计生办办理生育登记，排了两个小时队，工作人员态度冷淡，"
    "材料来回让补，跑了三趟还是没办好。投诉无门，太气人了，希望有关部门管一管。",
    "author": "深圳市民小李",
    "likes": 23,
    "replies": 5,
}
OTHERS = [
    {
        "title": "感谢社区组织免费孕前优生健康检查",
        "text": "上周参加了福田区莲花街道社区的免费孕前优生健康检查，流程清楚，医生很耐心，点赞！",
        "likes": 41,
    },
    {
        "title": "小区停车位收费太贵",
        "text": "莲花街道某小区物业停车费一个月八百，业主很不满，物业态度恶劣。",
        "likes": 12,
    },
]
FOLLOW_UPS = [
    {
        "title": "莲花街道计生办办理生育登记太慢，工作人员推诿，我也遇到了",
        "text": "我上周也去福田区莲花街道计生办办理生育登记，同样排了两个小时队，工作人员态度冷淡，"
        "材料来回让补，跑了三趟还是没办好。投诉无门，希望有关部门管一管。",
        "likes": 8,
    },
]


def _run(yuqing, *args):
    result = yuqing(*args)
    assert result.returncode == 0, f"yuqing {' '.join(args)}: {result.stdout}{result.stderr}"
    return result


@pytest.mark.timeout(1200)  # the first run may train the model
def test_crawled_local_complaint_raises_one_alert_and_follow_ups_join_it(yuqing, session, tmp_path):
    with TestSite(posts=[COMPLAINT, *OTHERS], duplicates=False) as site:
        sources = site.write_sources(tmp_path / "sources.toml", "board")
        _run(yuqing, "init")
        _run(yuqing, "crawl", "--sources", str(sources))
        _run(yuqing, "analyze")
        _run(yuqing, "alerts", "evaluate")

        [alert] = session.scalars(select(Alert)).all()
        complaint = session.scalar(select(Post).where(Post.title == COMPLAINT["title"]))
        assert post_ids_of(session=session, alert=alert) == [complaint.id]
        assert alert.kind == "content" and alert.state == "new"
        assert alert.severity in ("blue", "yellow", "orange")
        assert "莲花" in alert.reason and "负面" in alert.reason

        for post in FOLLOW_UPS:
            site.add_post(**post)
        _run(yuqing, "crawl", "--sources", str(sources))
        _run(yuqing, "analyze")
        second = _run(yuqing, "alerts", "evaluate")
        assert "新建 0 条" in second.stdout, second.stdout

    session.expire_all()
    [alert] = session.scalars(select(Alert)).all()
    assert len(post_ids_of(session=session, alert=alert)) == 2
    listed = _run(yuqing, "alerts", "list")
    assert f"#{alert.id}" in listed.stdout
