"""What other menus read from the migration app (selectors): the CSV export of accounts, which the account
search and the account browser offer as "Export CSV". The export's one write is its audit row."""

from __future__ import annotations

from migration.csv_export import export_accounts

__all__ = ["export_accounts"]
