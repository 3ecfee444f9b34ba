"""SMTP alerting: the pure policy (:mod:`.policy`: which event sends which e-mail, and its text).
The sender is an adapter (:mod:`pykeepalived.net.smtp_sender`)."""
