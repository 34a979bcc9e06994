"""Tools: backup & restore (TLS-06), scheduled tasks (TLS-07) and Cyrus recovery (TLS-08)."""
