"""Cyrus database recovery (TLS-08)."""
