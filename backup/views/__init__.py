"""Pages of Tools → Backup & restore (the catalogue, create, upload, retention; restore)."""
