"""Record life-cycle states (DOMAIN §5). Pure."""

from __future__ import annotations

import enum


class RecordState(enum.StrEnum):
    """Life-cycle states (DOMAIN §5)."""

    ACTIVE = "active"
    DISPUTED = "disputed"  # 异议中
    CORRECTED = "corrected"  # a superseded version (kept in record_versions)
    REVOKED = "revoked"  # 撤销
    REPAIRED = "repaired"  # 修复
    EXPIRED = "expired"  # 公示期满


STATE_NAMES = {
    RecordState.ACTIVE: "有效",
    RecordState.DISPUTED: "异议处理中",
    RecordState.CORRECTED: "已更正",
    RecordState.REVOKED: "已撤销",
    RecordState.REPAIRED: "已修复",
    RecordState.EXPIRED: "公示期满",
}
