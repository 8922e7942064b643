"""Catalogs (目录) as versioned data: information items, behaviours, scenarios, departments."""
