"""Accounts and credentials. For now: API keys of the credit office and of departments."""
