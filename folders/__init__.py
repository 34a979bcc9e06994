"""Menu app: not built yet (see docs/FEATURES.md)."""
