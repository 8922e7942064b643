"""Joint reward and punishment (联合奖惩): the measures engine, checks, feedback."""
