"""Credit records (信用记录), submissions (归集) and the person's archive (诚信档案)."""
