"""Changes to the credit archive and what they imply (the orchestration above ``records``).

``effects`` is the one place that knows what a record change implies — list memberships,
rescoring, notices, the exchange outbox (``outbox``, the table and ``queue_change``);
``records`` holds the record changes made outside a submission (a workflow's state change
or correction, a department's re-grading). The submission pipeline
(``xinyong.submissions``), the workflows and the exchange call it; ``records``, ``lists``,
``scoring`` and ``notices`` never import it.
"""
