"""Host adapters other than the network: the timerfd wake-up, the signals read from the daemon's own
wake-up fd, the script runner, notify FIFOs, the control socket, the pid file, systemd's sd_notify,
``vrrp_script`` and ``track_file`` readers, the uptime and the process's start time.

May import: the standard library, :mod:`pykeepalived.config`, :mod:`pykeepalived.vrrp` (values and
pure rules), :mod:`pykeepalived.errors`.  Never :mod:`pykeepalived.daemon` (the composition root
imports the adapters, not the other way round) nor another adapter package.
"""
