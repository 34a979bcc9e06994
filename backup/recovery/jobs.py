"""Job kinds of this part (registered by backup.apps)."""
