"""SMTP relay rules (Mail Delivery menu). Its own Django app: its own models and migrations."""
