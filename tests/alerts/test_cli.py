"""The commands: alerts evaluate/list, export alerts, outbox send."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from openpyxl import load_workbook
from sqlalchemy import select

from alerts.models import Alert, OutboxEmail
from core.db import utcnow
from tests.alerts.conftest import analysed_post
from tests.factories import make_user
from tests.smtp import text_of


def _seed(session):
    analysed_post(session, places=["南山"], at=utcnow() - dt.timedelta(hours=1))
    analysed_post(
        session,
        at=utcnow() - dt.timedelta(hours=1),
        text="计生办打人，大家集体去上访",
        places=["南山"],
    )
    session.commit()


def test_evaluate_sends_urgent_mail_within_the_run(yuqing, rules, smtp_server):
    session = rules
    make_user(session, name="duty", email="duty@example.org", on_duty=True)
    _seed(session)
    started = utcnow()
    result = yuqing("alerts", "evaluate")
    assert result.returncode == 0, result.stderr
    assert "新建 2 条" in result.stdout and "已发送 1 封" in result.stdout
    [mail] = smtp_server.wait_for(1)
    assert "特别重大" in mail["Subject"] and "/alerts/" in text_of(mail)
    assert (utcnow() - started).total_seconds() < 60
    again = yuqing("alerts", "evaluate")
    assert "新建 0 条" in again.stdout and len(smtp_server.messages) == 1


def test_list_filters_by_state_and_severity(yuqing, rules):
    _seed(rules)
    assert yuqing("alerts", "evaluate").returncode == 0
    everything = yuqing("alerts", "list")
    assert everything.returncode == 0 and everything.stdout.count("\n") == 2
    red = yuqing("alerts", "list", "--severity", "red")
    assert red.stdout.count("\n") == 1 and "特别重大" in red.stdout
    none = yuqing("alerts", "list", "--state", "resolved")
    assert "没有符合条件的告警" in none.stdout
    bad = yuqing("alerts", "list", "--state", "closed")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_export_alerts_in_three_formats(yuqing, rules, tmp_path):
    session = rules
    _seed(session)
    yuqing("alerts", "evaluate")
    alerts = session.scalars(select(Alert).order_by(Alert.id)).all()
    fields = [
        "id",
        "event_id",
        "severity",
        "state",
        "rule",
        "reason",
        "post_ids",
        "created_at",
        "updated_at",
    ]

    jsonl = yuqing("export", "alerts", "--format", "jsonl")
    assert jsonl.returncode == 0, jsonl.stderr
    rows = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert [r["id"] for r in rows] == [a.id for a in alerts]
    assert list(rows[0]) == fields and isinstance(rows[0]["post_ids"], list)
    assert "南山" in rows[0]["reason"]

    out = yuqing("export", "alerts", "--format", "csv")
    table = list(csv.DictReader(io.StringIO(out.stdout.lstrip("\ufeff"))))
    assert list(table[0]) == fields and len(table) == 2

    path = tmp_path / "alerts.xlsx"
    xlsx = yuqing("export", "alerts", "--format", "xlsx", "-o", str(path))
    assert xlsx.returncode == 0, xlsx.stderr
    sheet = load_workbook(path).active
    assert [c.value for c in sheet[1]] == fields and sheet.max_row == 3


def test_outbox_send_flushes_waiting_mail(yuqing, rules, smtp_server):
    session = rules
    session.add(
        OutboxEmail(to_addrs="a@example.org", subject="测试邮件", body_text="你好", kind="test")
    )
    session.commit()
    result = yuqing("outbox", "send")
    assert result.returncode == 0, result.stderr
    assert "已发送 1 封" in result.stdout
    assert smtp_server.wait_for(1)[0]["Subject"] == "测试邮件"


def test_outbox_send_with_smtp_down_is_a_one_line_error(yuqing, rules, smtp_server):
    session = rules
    smtp_server.stop()
    session.add(OutboxEmail(to_addrs="a@example.org", subject="测试", body_text="你好"))
    session.commit()
    result = yuqing("outbox", "send")
    assert result.returncode == 2 and "wait in the outbox" in result.stderr
    assert "Traceback" not in result.stderr
    session.expire_all()
    assert session.scalar(select(OutboxEmail)).attempts == 1
