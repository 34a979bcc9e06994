"""Pages of Tools → Import accounts: uploads.py (the list and the upload form), runs.py (the report, confirm,
discard, cancel, the CSV report)."""
