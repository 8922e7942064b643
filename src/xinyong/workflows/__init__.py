"""Shared machinery of the person's remedies and the office's workflows.

Each workflow (objections, repair, commitments, tip-offs) keeps its states and allowed
transitions in a pure table built with :mod:`xinyong.workflows.machine`; every transition
a service makes is written by :func:`xinyong.workflows.history.record_transition` in the
same transaction.
"""
