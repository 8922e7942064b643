"""Credit commitments (信用承诺): made by a person, tracked by a department, and a
negative record when broken."""
