"""Menu Mail Delivery: the queue (DLV-01, DLV-02), disclaimers (DLV-03), SMTP relay rules (DLV-04).

The app is not called `queue`: that would shadow the standard library module (docs/decisions)."""
