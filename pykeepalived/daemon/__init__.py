"""The composition root: builds the objects, owns the life cycle (start, reload, stop, signals) and
connects outputs to inputs on one asyncio loop.  It decides nothing about VRRP, checks, IPVS or BGP.

* ``app.py`` life cycle and signals; ``instances.py`` the running instances and their trackers;
* ``runner.py`` events into the routers, the core's actions out (``timer_heap.py``: one wake-up for
  all; ``executor.py`` / ``announcer.py`` / ``address_queue.py``: the wire actions; ``listeners.py``:
  the one list of outputs of state and priority changes; ``notify.py``: notify scripts and FIFOs);
* ``status.py`` the ``status --json`` snapshot; ``lvs*.py`` the LVS part (checkers -> LbPolicy ->
  IPVS); ``bgp.py`` / ``bgp_status.py`` the BGP part (LVS reconciles and VRRP states ->
  AnnouncePolicy -> the announce interface; FRR applied and read); ``startup_delay.py``,
  ``logging.py``.

May import every package.  Nothing imports it except the command line (``commands/run.py``) and the
shipped test helpers (``testing/``).
"""
