"""Menu Mail Folders: public folders, folder types, permissions, user folders (FLD-01 … FLD-05, SCX-01)."""
