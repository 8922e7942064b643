"""The event tags: one table. Every tag written in the source is a member with a Chinese
name, and every tag an abuse rule watches is emitted by some code path."""

from __future__ import annotations

import ast
from pathlib import Path

import xinyong
from xinyong.audit import rules
from xinyong.audit.chain import ACTION_SHAPE
from xinyong.audit.tags import LABELS, STEP_NAMES, WORKFLOW_NAMES, EventTag, label_of

SRC = Path(xinyong.__file__).parent
DEFINED_IN = {SRC / "audit" / "tags.py", SRC / "audit" / "rules.py"}


def _emitted() -> set[str]:
    """Tags the code writes: ``EventTag.X`` used outside the table and the rules, tag-shaped
    string constants, and the query log's family ``"query:" + action="…"``."""
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        if path in DEFINED_IN:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "EventTag"
            ):
                found.add(EventTag[node.attr].value)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                if ACTION_SHAPE.match(node.value) and not node.value.startswith("test:"):
                    found.add(node.value)
            elif isinstance(node, ast.keyword) and node.arg == "action":
                value = node.value
                # action="check:batch" if … else "check:run"
                either = [value.body, value.orelse] if isinstance(value, ast.IfExp) else [value]
                for c in either:
                    if (
                        isinstance(c, ast.Constant)
                        and isinstance(c.value, str)
                        and ACTION_SHAPE.match(f"query:{c.value}")
                    ):
                        found.add(f"query:{c.value}")
    return found


def test_every_tag_has_a_chinese_name() -> None:
    assert set(LABELS) == set(EventTag)
    for tag in EventTag:
        assert ACTION_SHAPE.match(tag.value), tag
        assert label_of(tag) == LABELS[tag] and any(
            "\u4e00" <= ch <= "\u9fff" for ch in LABELS[tag]
        )


def test_every_tag_the_code_writes_is_in_the_table() -> None:
    emitted = _emitted()
    members = {t.value for t in EventTag}
    assert emitted - members == set()
    assert "notices:interview:recorded" in emitted  # interviews are in the trail


def test_every_tag_an_abuse_rule_watches_is_emitted() -> None:
    assert rules.WATCHED
    assert {str(t) for t in rules.WATCHED} - _emitted() == set()


def test_every_read_the_recorder_logs_has_its_tag_in_the_table() -> None:
    """A read is recorded (queries.recorder) with the tag ``query:`` + its query-log action,
    also where the action is built (``f"{owner_kind}:evidence"``, out of the static scan's
    reach): every action the query log names has its member."""
    from xinyong.queries.services import ACTION_NAMES

    members = {t.value for t in EventTag}
    evidence_owners = ("objection", "repair", "list_entry")  # cases.read_evidence
    actions = set(ACTION_NAMES) | {f"{kind}:evidence" for kind in evidence_owners}
    assert {f"query:{a}" for a in actions} - members == set()
    for action in actions:
        assert label_of(f"query:{action}") == LABELS[EventTag(f"query:{action}")]


def test_every_workflow_step_has_a_name() -> None:
    from xinyong.commitments.workflow import CommitmentAction
    from xinyong.objections.workflow import ObjectionAction
    from xinyong.repair.workflow import RepairAction
    from xinyong.tipoffs.workflow import TipoffAction
    from xinyong.workflows.history import _word

    for enum_ in (CommitmentAction, ObjectionAction, RepairAction, TipoffAction):
        for action in enum_:
            assert _word(action.value) in STEP_NAMES, action
    for workflow in WORKFLOW_NAMES:
        tag = f"workflows:{workflow}:submit"
        assert label_of(tag).startswith(WORKFLOW_NAMES[workflow])
    assert label_of("workflows:record:exchange_list_ended") == "信用记录：上级平台移出名单"
    assert label_of("query:nothing:such") == "query:nothing:such"  # shown as it is
