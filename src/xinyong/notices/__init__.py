"""Notices (信用告知): an outbox of messages to subjects."""
