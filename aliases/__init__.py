"""Menu Aliases: aliases, system aliases, user addresses, routing explained (ALI-01 … ALI-05)."""
