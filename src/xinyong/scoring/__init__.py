"""Integrity score (诚信积分): a configurable model, set-based rescoring, reasons, history."""
