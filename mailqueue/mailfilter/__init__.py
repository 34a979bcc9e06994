"""The disclaimer content filter (DLV-03): an aiosmtpd server that Postfix hands every message to
(`content_filter`), which adds the sender's disclaimer and re-injects the message into Postfix's second smtpd.

Modules: rewrite (MIME: add a disclaimer to each text part, pure functions), snapshot (the disclaimers as the
console publishes them: a JSON file, reloaded when it changes), choose (sender -> the most specific
disclaimer, hosted domains for "outbound only"), server (the SMTP side and re-injection).
"""
