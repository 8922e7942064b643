"""Hash-chained audit trail (安全审计) and anomaly alerts (实时监测分析异常应用)."""
