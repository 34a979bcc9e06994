"""Job kinds of backups and restores."""
