"""fill_id_table: the temporary id tables that set-based statements join."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from xinyong.db import fill_id_table


def test_fill_id_table_refills_with_distinct_ids(session: Session) -> None:
    assert fill_id_table(session, "t_scope", [3, 1, 3, 2]) == 3
    assert session.scalars(text("SELECT subject_id FROM t_scope ORDER BY 1")).all() == [1, 2, 3]
    # Large enough to be analysed on PostgreSQL; refilled, not appended to.
    assert fill_id_table(session, "t_scope", range(5000)) == 5000
    assert session.scalar(text("SELECT count(*) FROM t_scope")) == 5000
    assert fill_id_table(session, "t_scope", []) == 0
    assert session.scalar(text("SELECT count(*) FROM t_scope")) == 0
