"""Queries of a person's data and their log (查询日志)."""
