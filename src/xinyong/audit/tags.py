"""The audit trail's event tags (``domain:subject:action``), each with its Chinese name.

One table for every place that writes or shows an event: the emitters pass an
``EventTag`` (a ``str``), the abuse rules (``rules.py``) watch members of it, the audit
page and the command line show ``label_of``. Workflow steps form one family,
``workflows:<workflow>:<step>`` (``workflows.history.record_transition``), named from
``WORKFLOW_NAMES`` and ``STEP_NAMES``. ``tests/unit/audit/test_tags.py`` checks that every
tag written in the source is a member, that each has a name, and that every tag a rule
watches is emitted somewhere.
"""

from __future__ import annotations

import enum


class EventTag(enum.StrEnum):
    # accounts
    ACCOUNTS_LOGIN_FAILED = "accounts:login:failed"
    ACCOUNTS_LOGIN_REFUSED = "accounts:login:refused"
    ACCOUNTS_LOGIN_SUCCEEDED = "accounts:login:succeeded"
    ACCOUNTS_USER_CREATED = "accounts:user:created"
    ACCOUNTS_USER_DISABLED = "accounts:user:disabled"
    ACCOUNTS_USER_ENABLED = "accounts:user:enabled"
    ACCOUNTS_USER_PASSWORD_SET = "accounts:user:password_set"
    ACCOUNTS_APIKEY_ISSUED = "accounts:apikey:issued"
    # the audit trail itself
    AUDIT_ALERT_ACKNOWLEDGED = "audit:alert:acknowledged"
    AUDIT_ALERT_RAISED = "audit:alert:raised"
    AUDIT_ALERTS_VIEWED = "audit:alerts:viewed"
    AUDIT_ANCHOR_REFUSED = "audit:anchor:refused"
    AUDIT_ANCHOR_SIGNED = "audit:anchor:signed"
    AUDIT_CHAIN_KEYED = "audit:chain:keyed"
    AUDIT_CHAIN_VERIFIED = "audit:chain:verified"
    AUDIT_EVENTS_VIEWED = "audit:events:viewed"
    AUDIT_SCAN_COMPLETED = "audit:scan:completed"
    # authorizations
    AUTHORIZATIONS_GRANTED = "authorizations:authorization:granted"
    AUTHORIZATIONS_REVOKED = "authorizations:authorization:revoked"
    # the working-day calendar (`xinyong calendar load`, the console's 节假日安排 page)
    WORKDAYS_SCHEDULE_LOADED = "workdays:schedule:loaded"
    # exchange with the upper platform
    EXCHANGE_BATCH_PUSHED = "exchange:batch:pushed"
    EXCHANGE_BATCH_RECEIVED = "exchange:batch:received"
    EXCHANGE_LIST_ENDED = "exchange:list:ended"
    EXCHANGE_LIST_RELISTED = "exchange:list:relisted"
    EXCHANGE_LISTS_PULLED = "exchange:lists:pulled"
    EXCHANGE_LISTS_SERVED = "exchange:lists:served"
    # lists, measures, notices
    LISTS_BLACKLIST_NOTIFIED = "lists:blacklist:notified"
    LISTS_BLACKLIST_DEFENCE = "lists:blacklist:defence"
    MEASURES_FEEDBACK_ADDED = "measures:feedback:added"
    NOTICES_INTERVIEW_RECORDED = "notices:interview:recorded"
    NOTICES_INTERVIEW_CONCLUDED = "notices:interview:concluded"
    # reads of personal data: "query:" + the query log's action (queries.services.log_query)
    QUERY_ARCHIVE_READ = "query:archive:read"
    QUERY_ARCHIVE_VIEW = "query:archive:view"
    QUERY_ARCHIVE_FULL = "query:archive:full"  # 档案管理: the office reads the whole archive
    QUERY_AUTHORIZATION_REFUSED = "query:authorization:refused"
    QUERY_CHECK_BATCH = "query:check:batch"
    QUERY_CHECK_NOT_FOUND = "query:check:not_found"
    QUERY_CHECK_RUN = "query:check:run"
    QUERY_COMMITMENT_VIEW = "query:commitment:view"
    QUERY_INTERVIEW_VIEW = "query:interview:view"
    QUERY_LISTS_VIEW = "query:lists:view"
    QUERY_BLACKLIST_VIEW = "query:blacklist:view"
    QUERY_LIST_ENTRY_EVIDENCE = "query:list_entry:evidence"
    QUERY_OBJECTION_EVIDENCE = "query:objection:evidence"
    QUERY_OBJECTION_VIEW = "query:objection:view"
    QUERY_REPAIR_CHECK = "query:repair:check"
    QUERY_REPAIR_OPTIONS = "query:repair:options"
    QUERY_REPAIR_EVIDENCE = "query:repair:evidence"
    QUERY_REPAIR_VIEW = "query:repair:view"
    QUERY_REPORT_DOWNLOAD = "query:report:download"
    QUERY_REPORT_ISSUE = "query:report:issue"
    QUERY_SCORE_VIEW = "query:score:view"
    # records
    RECORDS_DISPLAY_EXPIRED = "records:display:expired"
    RECORDS_RECORD_REGRADED = "records:record:regraded"
    RECORDS_SUBMISSION_COMPLETED = "records:submission:completed"
    RECORDS_SUBMISSION_FAILED = "records:submission:failed"
    RECORDS_SUBMISSION_MERGED = "records:submission:merged"
    RECORDS_SUBMISSION_QUEUED = "records:submission:queued"


LABELS: dict[EventTag, str] = {
    EventTag.ACCOUNTS_LOGIN_FAILED: "登录失败",
    EventTag.ACCOUNTS_LOGIN_REFUSED: "登录被拒",
    EventTag.ACCOUNTS_LOGIN_SUCCEEDED: "登录成功",
    EventTag.ACCOUNTS_USER_CREATED: "新建账号",
    EventTag.ACCOUNTS_USER_DISABLED: "停用账号",
    EventTag.ACCOUNTS_USER_ENABLED: "启用账号",
    EventTag.ACCOUNTS_USER_PASSWORD_SET: "设置密码",
    EventTag.ACCOUNTS_APIKEY_ISSUED: "签发 API 密钥",
    EventTag.AUDIT_ALERT_ACKNOWLEDGED: "确认告警",
    EventTag.AUDIT_ALERT_RAISED: "产生告警",
    EventTag.AUDIT_ALERTS_VIEWED: "查看告警",
    EventTag.AUDIT_ANCHOR_REFUSED: "拒绝签名锚点",
    EventTag.AUDIT_ANCHOR_SIGNED: "签名锚点",
    EventTag.AUDIT_CHAIN_KEYED: "审计链改用密钥链接",
    EventTag.AUDIT_CHAIN_VERIFIED: "校验审计链",
    EventTag.AUDIT_EVENTS_VIEWED: "查看审计记录",
    EventTag.AUDIT_SCAN_COMPLETED: "异常监测扫描",
    EventTag.AUTHORIZATIONS_GRANTED: "授权查询",
    EventTag.AUTHORIZATIONS_REVOKED: "撤回授权",
    EventTag.WORKDAYS_SCHEDULE_LOADED: "载入节假日安排",
    EventTag.EXCHANGE_BATCH_PUSHED: "向上级平台报送",
    EventTag.EXCHANGE_BATCH_RECEIVED: "接收下级平台报送",
    EventTag.EXCHANGE_LIST_ENDED: "上级平台移出名单",
    EventTag.EXCHANGE_LIST_RELISTED: "上级平台重新列入名单",
    EventTag.EXCHANGE_LISTS_PULLED: "拉取上级平台名单",
    EventTag.EXCHANGE_LISTS_SERVED: "向下级平台提供名单",
    EventTag.LISTS_BLACKLIST_NOTIFIED: "黑名单告知",
    EventTag.LISTS_BLACKLIST_DEFENCE: "提交陈述申辩",
    EventTag.MEASURES_FEEDBACK_ADDED: "反馈措施实施情况",
    EventTag.NOTICES_INTERVIEW_RECORDED: "登记约谈",
    EventTag.NOTICES_INTERVIEW_CONCLUDED: "登记约谈结果",
    EventTag.QUERY_ARCHIVE_READ: "查阅信用档案",
    EventTag.QUERY_ARCHIVE_VIEW: "查看信用档案",
    EventTag.QUERY_ARCHIVE_FULL: "档案管理：查看完整档案",
    EventTag.QUERY_AUTHORIZATION_REFUSED: "授权查询被拒",
    EventTag.QUERY_CHECK_BATCH: "批量比对",
    EventTag.QUERY_CHECK_NOT_FOUND: "核查（查无记录）",
    EventTag.QUERY_CHECK_RUN: "联动核查",
    EventTag.QUERY_COMMITMENT_VIEW: "查看信用承诺",
    EventTag.QUERY_INTERVIEW_VIEW: "查看约谈记录",
    EventTag.QUERY_LISTS_VIEW: "查看名单",
    EventTag.QUERY_BLACKLIST_VIEW: "查看列入严重失信名单程序",
    EventTag.QUERY_LIST_ENTRY_EVIDENCE: "查看陈述申辩证明材料",
    EventTag.QUERY_OBJECTION_EVIDENCE: "查看异议证明材料",
    EventTag.QUERY_OBJECTION_VIEW: "查看异议",
    EventTag.QUERY_REPAIR_CHECK: "信用修复预检",
    EventTag.QUERY_REPAIR_OPTIONS: "查看可修复记录",
    EventTag.QUERY_REPAIR_EVIDENCE: "查看信用修复证明材料",
    EventTag.QUERY_REPAIR_VIEW: "查看信用修复申请",
    EventTag.QUERY_REPORT_DOWNLOAD: "下载信用报告",
    EventTag.QUERY_REPORT_ISSUE: "出具信用报告",
    EventTag.QUERY_SCORE_VIEW: "查看诚信积分",
    EventTag.RECORDS_DISPLAY_EXPIRED: "公示期满",
    EventTag.RECORDS_RECORD_REGRADED: "记录重新分级",
    EventTag.RECORDS_SUBMISSION_COMPLETED: "报送完成",
    EventTag.RECORDS_SUBMISSION_FAILED: "报送失败",
    EventTag.RECORDS_SUBMISSION_MERGED: "报送入库",
    EventTag.RECORDS_SUBMISSION_QUEUED: "报送排队待处理",
}

# The workflow-step family: workflows:<workflow>:<step>.
WORKFLOW_PREFIX = "workflows:"
WORKFLOW_NAMES = {
    "record": "信用记录",
    "tipoff": "举报",
    "repair": "信用修复",
    "objection": "异议",
    "commitment": "信用承诺",
}
STEP_NAMES = {
    "submit": "提交",
    "route": "转办",
    "return": "退回",
    "investigate": "调查",
    "close": "办结",
    "reject": "驳回",
    "apply": "申请",
    "approve": "批准",
    "withdraw": "撤回",
    "repair": "修复",
    "file": "提出",
    "dispute": "标注异议",
    "accept": "受理",
    "extend": "延期",
    "escalate": "转信用办督办",
    "correct": "更正",
    "revoke": "撤销",
    "uphold": "维持",
    "sign": "签署",
    "fulfil": "履约",
    "partly": "部分履约",
    "break": "违约",
    "exchange_list_ended": "上级平台移出名单",
    "exchange_list_relisted": "上级平台重新列入名单",
    "exchange_record_repaired": "上级平台修复",
    "exchange_record_revoked": "上级平台撤销",
}


def label_of(tag: str) -> str:
    """The Chinese name of a tag; an unknown one is shown as it is."""
    try:
        return LABELS[EventTag(tag)]
    except ValueError:
        pass
    if tag.startswith(WORKFLOW_PREFIX):
        _, workflow, step = tag.split(":", 2)
        name = WORKFLOW_NAMES.get(workflow)
        if name:
            return f"{name}：{STEP_NAMES.get(step, step)}"
    return tag


def all_labels() -> list[tuple[str, str]]:
    """(tag prefix, name) for a filter: every tag, then each workflow as one choice."""
    out = [(str(tag), label) for tag, label in LABELS.items()]
    out += [
        (f"{WORKFLOW_PREFIX}{w}:", f"{name}（流程各环节）") for w, name in WORKFLOW_NAMES.items()
    ]
    return out
