"""Credit reports (信用报告): snapshots of an archive for an audience, with verification."""
