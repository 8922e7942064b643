"""Delivering queued notices through pluggable senders.

The in-app inbox always receives a notice (it *is* the ``notices`` row, read through the
API). SMS and e-mail are interfaces: a city plugs in its gateway; the demo senders only
log that a message would go out — the notice id, its kind and the channel, never a name,
an identity number, a phone number or the text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyong.db import utcnow
from xinyong.notices.models import Notice

log = logging.getLogger("xinyong.notices")

ContactLookup = Callable[[Session, int, str], str | None]
"""(session, subject_id, channel) → the address to send to, or None when not known."""


class Sender(Protocol):
    channel: str

    def send(self, notice: Notice, address: str | None) -> bool:
        """Deliver; True when the message left (or, for the inbox, is readable)."""
        ...


class InboxSender:
    """站内信: the notice is readable in the person's inbox as soon as it is queued."""

    channel = "inbox"

    def send(self, notice: Notice, address: str | None) -> bool:
        return True


class SmsSender(Protocol):
    channel: str

    def send(self, notice: Notice, address: str | None) -> bool: ...


class EmailSender(Protocol):
    channel: str

    def send(self, notice: Notice, address: str | None) -> bool: ...


class LoggingSmsSender:
    """Demo SMS gateway: logs that a message would be sent, without personal data."""

    channel = "sms"

    def send(self, notice: Notice, address: str | None) -> bool:
        if not address:
            return False
        log.info("sms: notice %s (%s) would be sent", notice.id, notice.kind)
        return True


class LoggingEmailSender:
    """Demo mail server: logs that a message would be sent, without personal data."""

    channel = "email"

    def send(self, notice: Notice, address: str | None) -> bool:
        if not address:
            return False
        log.info("email: notice %s (%s) would be sent", notice.id, notice.kind)
        return True


def no_contacts(session: Session, subject_id: int, channel: str) -> str | None:
    return None


def default_senders() -> list[Sender]:
    return [InboxSender(), LoggingSmsSender(), LoggingEmailSender()]


def dispatch(
    session: Session,
    senders: Sequence[Sender] | None = None,
    *,
    contacts: ContactLookup = no_contacts,
    limit: int = 1000,
) -> int:
    """Send queued notices; each is marked sent with the channels it reached. The inbox is
    always among them, so a notice is never lost for want of a phone number."""
    chosen = list(senders) if senders is not None else default_senders()
    if not any(s.channel == "inbox" for s in chosen):
        chosen.insert(0, InboxSender())
    notices = list(
        session.scalars(
            select(Notice).where(Notice.status == "queued").order_by(Notice.id).limit(limit)
        )
    )
    for notice in notices:
        reached = []
        for sender in chosen:
            address = (
                None
                if sender.channel == "inbox"
                else contacts(session, notice.subject_id, sender.channel)
            )
            try:
                if sender.send(notice, address):
                    reached.append(sender.channel)
            except Exception:  # a broken gateway must not stop the inbox
                log.exception("sender %s failed for notice %s", sender.channel, notice.id)
        notice.channels = ",".join(reached)
        notice.status = "sent"
        notice.sent_at = utcnow()
    session.flush()
    return len(notices)


@dataclass(frozen=True)
class SendResult:
    sent: int
    remaining: int  # still queued (a --limit reached, or queued meanwhile)


def send_queued(
    session: Session,
    senders: Sequence[Sender] | None = None,
    *,
    contacts: ContactLookup = no_contacts,
    limit: int | None = None,
    batch: int = 1000,
    after_batch: Callable[[], None] | None = None,
) -> SendResult:
    """Send until the queue is empty or ``limit`` notices are sent, ``batch`` at a time;
    ``after_batch`` (the caller's commit) keeps what is sent if a later batch fails."""
    sent = 0
    while limit is None or sent < limit:
        size = batch if limit is None else min(batch, limit - sent)
        done = dispatch(session, senders, contacts=contacts, limit=size)
        sent += done
        if after_batch is not None:
            after_batch()
        if done < size:
            break
    remaining = session.scalar(
        select(func.count()).select_from(Notice).where(Notice.status == "queued")
    )
    return SendResult(sent, int(remaining or 0))
