"""Fixtures for the web app: the app on the test database, logged-in clients, sample alerts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from alerts.models import Alert, alert_posts
from api.app import create_app
from core.db import utcnow
from tests import factories

PASSWORD = "password123"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app(settings):  # type: ignore[no-untyped-def]
    """The web app bound to the test's database."""
    return create_app(settings)


def csrf_of(client: TestClient, path: str = "/login") -> str:
    """The CSRF token a page's forms carry."""
    match = CSRF_RE.search(client.get(path).text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client: TestClient, name: str, password: str = PASSWORD) -> Any:
    """Log in through the form, as a browser would."""
    token = csrf_of(client)
    return client.post(
        "/login",
        data={"username": name, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )


@dataclass
class Sample:
    """A small realistic data set: users, a source, posts, an event and an alert."""

    admin_id: int
    staff_id: int
    alert_id: int
    post_ids: list[int]
    source_id: int
    event_id: int


def make_sample(session: Session) -> Sample:
    """Users, a board with three posts of one event (one hostile payload) and a red alert."""
    admin = factories.make_user(session, name="admin", role="admin", display_name="管理员")
    staff = factories.make_user(session, name="staff", role="staff", display_name="李敏")
    source = factories.make_source(session, name="街道留言板", kind="html")
    factories.make_run(session, source=source, items_new=3)
    event = factories.make_event(
        session,
        title="生育登记窗口推诿",
        post_count=3,
        negative_count=3,
        relevant_count=3,
        topics=["registration"],
    )
    texts = [
        (
            "办理生育登记被推诿",
            "我去街道办生育登记，窗口工作人员态度很差，让我来回跑了三趟还没办好。",
        ),
        ("再说一次生育登记的事", "社区说要先开计生证明，街道说不用，到底谁说了算？推诿扯皮。"),
        (
            "<script>alert('x')</script>投诉",
            "窗口 <img src=x onerror=\"document.title='pwned'\"> 乱收费，生育登记还要交钱？",
        ),
    ]
    posts = []
    for title, text in texts:
        post = factories.make_post(session, source=source, title=title, text=text)
        factories.make_analysis(
            session,
            post=post,
            topics=["registration", "staff_conduct"],
            event_id=event.id,
            matched_terms={
                "plans": ["计生"],
                "place": ["街道"],
                "subject": ["生育登记"],
                "event": ["推诿"],
            },
            explanation={
                "relevance": [["生育登记", 1.2]],
                "sentiment": [["推诿", 0.9], ["态度很差", 0.8]],
                "topics": {"registration": [["生育登记", 1.1]]},
            },
        )
        posts.append(post)
    alert = factories.make_alert(
        session,
        severity="red",
        title="生育登记窗口推诿，群众反映强烈",
        reason="同一事件 3 条负面信息，涉及工作作风",
        topic="registration",
        event_id=event.id,
        matched_terms=["生育登记", "推诿"],
        due_at=utcnow(),
    )
    session.execute(alert_posts.insert(), [{"alert_id": alert.id, "post_id": p.id} for p in posts])
    factories.make_alert(
        session, severity="blue", title="一般关注：宣传活动评论", topic="publicity"
    )
    session.commit()
    return Sample(admin.id, staff.id, alert.id, [p.id for p in posts], source.id, event.id)


@pytest.fixture
def sample(session: Session) -> Sample:
    """The sample data, committed."""
    return make_sample(session)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """An anonymous client (http://testserver)."""
    with TestClient(app) as c:
        yield c


@pytest.fixture
def staff_client(app, sample) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """A client logged in as staff."""
    with TestClient(app) as c:
        assert login(c, "staff").status_code == 303
        yield c


@pytest.fixture
def admin_client(app, sample) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """A client logged in as admin."""
    with TestClient(app) as c:
        assert login(c, "admin").status_code == 303
        yield c


def alert_row(session: Session, alert_id: int) -> Alert:
    """The alert as stored now."""
    session.expire_all()
    return session.get(Alert, alert_id)
