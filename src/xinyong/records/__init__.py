"""Credit records (信用记录): their tables, states, display periods and visibility, the
submission formats and validation, grading, and the person's archive (诚信档案). The
pipeline that imports submissions (归集) is :mod:`xinyong.submissions`; what a record
change implies is :mod:`xinyong.changes`."""
