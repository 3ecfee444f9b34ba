"""keepalived-compatible dump files: the tools that read keepalived's (mehdy/keepalived-exporter,
gen2brain/keepalived_exporter, scripts) work with pykeepalived unchanged.

The daemon handles keepalived's signals (``--signum``, :mod:`.signals`) by writing, from its status
document, in keepalived 2.2.7's formats:

==================== ============ ==========================================================
``DATA`` (SIGUSR1)   ``keepalived.data``   the running configuration and state (:mod:`.data`)
``STATS`` (SIGUSR2)  ``keepalived.stats``  per instance counters (:mod:`.counters`)
``STATS_CLEAR``      ``keepalived.stats``  the same, then those files count from zero again
``JSON``             ``keepalived.json``   configuration, state and counters as JSON
==================== ============ ==========================================================

Where: keepalived's rule -- the directory named by ``$TMPDIR`` when it is an absolute path, else
``/tmp``; with ``data_use_instance`` and a network namespace (``-s NAME``), ``keepalived.data``
becomes ``keepalived.NAME.data`` (``keepalived.<namespace>_<instance>.data`` once ``instance`` is
acted on).  Files are written whole under a temporary name
in that directory and renamed into place (a reader never sees half a file, and an existing symlink
is replaced, never followed), mode 0644 as keepalived's.

Modules: :mod:`.signals` (the signal table; imports only :mod:`signal`, so ``pykeepalived
--signum`` and the early start-up stay light), :mod:`.writer` (where and how the files are written),
:mod:`.data` and :mod:`.counters` (the formats), :mod:`.host` (interface facts), :mod:`.structure`
(reading dumps back, to compare them with keepalived's).  This module imports nothing.
"""
