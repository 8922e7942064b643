"""Authorizations (授权): a person lets an institution query their credit."""
