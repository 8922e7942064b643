"""Public disclosure (信用网站的公示): what the public may see of records and lists, its
search, detail pages and public statistics."""
