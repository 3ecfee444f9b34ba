"""SMTP alerting: the pure policy (:mod:`.policy`: which event sends which e-mail, and its text).
The sender is an adapter (:mod:`pykeepalived.net.smtp_sender`), the glue ``daemon/alerts.py``.

May import :mod:`pykeepalived.config` (and the protocol cores below it); no I/O, never an adapter or
:mod:`pykeepalived.daemon`.
"""
