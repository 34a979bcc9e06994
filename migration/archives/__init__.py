"""Mail archive imports (TLS-02's archive half, TLS-05): mbox, Maildir, .eml files in zip or tar, and Outlook
PST files go into a user's mailbox, one IMAP folder per archive folder, flags and dates kept, nothing twice.

- safety: archives checked before anything is unpacked, then unpacked into the import's own directory;
- readers: one message at a time out of mbox files, Maildir trees, .eml trees (PST through pst.py);
- names: archive folder names mapped onto the names Cyrus accepts;
- importer: the messages into the mailbox through the Cyrus gateway, skipping what is already there;
- services / jobs / views: the upload, the Celery job and the pages (docs/mail-import.md).
"""
