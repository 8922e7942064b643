"""Objections (异议): a person disputes a record; the department that submitted it decides."""
