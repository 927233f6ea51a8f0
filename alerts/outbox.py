"""The email outbox: mail is queued in the database and sent by `flush`, retrying with backoff."""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import socket
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.models import OutboxEmail
from core.config import Settings, get_settings
from core.db import utcnow

log = logging.getLogger(__name__)

# seconds before retry n (1-based); the last value repeats, so mail is retried forever
BACKOFF_SECONDS = (60, 120, 300, 900, 1800, 3600)
LEASE = dt.timedelta(minutes=10)


def backoff(attempts: int) -> dt.timedelta:
    """How long to wait after this many failed attempts."""
    index = min(max(attempts, 1), len(BACKOFF_SECONDS)) - 1
    return dt.timedelta(seconds=BACKOFF_SECONDS[index])


def queue(
    *,
    session: Session,
    to: list[str],
    subject: str,
    body_text: str,
    body_html: str = "",
    kind: str = "alert",
    dedup_key: str = "",
    mime: bytes | None = None,
    now: dt.datetime | None = None,
) -> OutboxEmail:
    """Put a mail in the outbox; with a dedup_key already queued, return that mail instead."""
    if dedup_key:
        existing = session.scalar(
            select(OutboxEmail).where(OutboxEmail.dedup_key == dedup_key).limit(1)
        )
        if existing is not None:
            return existing
    addresses = list(dict.fromkeys(a.strip() for a in to if a and a.strip()))
    if not addresses:
        raise ValueError("a mail needs at least one recipient")
    now = now or utcnow()
    mail = OutboxEmail(
        kind=kind,
        dedup_key=dedup_key,
        to_addrs=", ".join(addresses),
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        mime=mime,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(mail)
    session.flush()
    return mail


def recipients_of(mail: OutboxEmail) -> list[str]:
    """The mail's recipient addresses."""
    return [a.strip() for a in mail.to_addrs.split(",") if a.strip()]


def build_message(mail: OutboxEmail, settings: Settings) -> EmailMessage:
    """A multipart/alternative message (plain text and HTML) for an outbox row."""
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(recipients_of(mail))
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(mail.created_at)
    domain = settings.smtp_from.rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(idstring=f"yuqing-{mail.id}", domain=domain)
    message.set_content(mail.body_text or " ", charset="utf-8")
    if mail.body_html:
        message.add_alternative(mail.body_html, subtype="html", charset="utf-8")
    return message


def _connect(settings: Settings) -> smtplib.SMTP:
    smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)
    try:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
    except BaseException:
        smtp.close()
        raise
    return smtp


def _failed(mail: OutboxEmail, error: str, now: dt.datetime) -> None:
    mail.attempts += 1
    mail.last_error = error[:1000]
    mail.next_attempt_at = now + backoff(mail.attempts)


def pending(*, session: Session, now: dt.datetime | None = None) -> list[OutboxEmail]:
    """Mail not sent yet whose next attempt is due."""
    now = now or utcnow()
    return list(
        session.scalars(
            select(OutboxEmail)
            .where(OutboxEmail.sent_at.is_(None), OutboxEmail.next_attempt_at <= now)
            .order_by(OutboxEmail.id)
            .with_for_update(skip_locked=True)
        )
    )


def flush(
    *, session: Session, settings: Settings | None = None, now: dt.datetime | None = None
) -> tuple[int, int]:
    """Send every due mail over one SMTP connection; returns (sent, failed). Commits per mail."""
    settings = settings or get_settings()
    now = now or utcnow()
    if not settings.smtp_host:
        return 0, 0
    due = pending(session=session, now=now)
    if not due:
        return 0, 0
    # lease the rows before the slow part, so a concurrent flush does not send them twice; a crash
    # mid-send leaves them due again when the lease runs out
    for mail in due:
        mail.next_attempt_at = now + LEASE
    session.commit()
    sent = failed = 0
    try:
        smtp = _connect(settings)
    except (OSError, smtplib.SMTPException) as exc:
        error = f"cannot reach SMTP {settings.smtp_host}:{settings.smtp_port}: {exc}"
        log.warning("%s; %d mail(s) wait in the outbox", error, len(due))
        for mail in due:
            _failed(mail, error, now)
        session.commit()
        return 0, len(due)
    try:
        for mail in due:
            try:
                to = recipients_of(mail)
                if mail.mime:
                    smtp.sendmail(settings.smtp_from, to, mail.mime)
                else:
                    smtp.send_message(build_message(mail, settings), settings.smtp_from, to)
            except (OSError, smtplib.SMTPException) as exc:
                _failed(mail, f"{type(exc).__name__}: {exc}", now)
                failed += 1
                if isinstance(exc, smtplib.SMTPServerDisconnected | socket.timeout):
                    # the connection is gone: the rest wait for the next flush
                    for rest in due[due.index(mail) + 1 :]:
                        _failed(rest, f"connection lost: {exc}", now)
                        failed += 1
                    session.commit()
                    break
            else:
                mail.sent_at = now
                mail.attempts += 1
                mail.last_error = ""
                sent += 1
            session.commit()
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return sent, failed
