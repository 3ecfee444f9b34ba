"""What ``vrrp_strict`` does to an instance, decided once (keepalived's RFC-conformance switch).

keepalived refuses some settings under ``vrrp_strict`` (unicast peers, an instance without VIPs:
``config/semantic.py`` reports them as errors) and silently changes others.  :func:`strict_settings`
says what those become; the validator warns where the configured value differs, and the mapping to
the state machine (``vrrp/from_config.py``) uses these values; :func:`owner_ignores_adverts` is the
one rule of ``owner_ignore_adverts``, which strict mode forces on for an address owner.  Its firewall
(packets to the VIPs of a master that does not accept are dropped) is ``net/host_state.py``'s, through
``Config.accepts``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pykeepalived.config.model import Config, VrrpInstance, VrrpState, strict_accept
from pykeepalived.wire import PRIORITY_OWNER

STRICT_DOWN_TIMER_ADVERTS = 3
"""The RFC's Master_Down_Interval: 3 advert intervals plus Skew_Time (``down_timer_adverts`` is ignored)."""


@dataclass(frozen=True, slots=True)
class StrictSettings:
    """An instance's settings as ``vrrp_strict`` makes them."""

    authentication: bool
    """False: any ``authentication`` is dropped."""
    preempt_delay_s: float
    initial_state: VrrpState
    """Exactly the address owner (priority 255) starts as MASTER."""
    accept: bool
    """Only an address owner accepts packets addressed to the virtual addresses, or a VRRPv3 instance
    that writes ``accept`` (:func:`~pykeepalived.config.model.strict_accept`)."""
    lower_prio_no_advert: bool
    down_timer_adverts: int


def strict_settings(inst: VrrpInstance, version: int = 2) -> StrictSettings:
    """What ``vrrp_strict`` makes of ``inst`` (speaking VRRP ``version``)."""
    owner = inst.effective_priority == PRIORITY_OWNER
    return StrictSettings(
        authentication=False,
        preempt_delay_s=0.0,
        initial_state=VrrpState.MASTER if owner else VrrpState.BACKUP,
        accept=strict_accept(owner, inst.accept, version),
        lower_prio_no_advert=True,
        down_timer_adverts=STRICT_DOWN_TIMER_ADVERTS,
    )


def owner_ignores_adverts(config: Config, inst: VrrpInstance) -> bool:
    """Does ``inst`` drop every advert it receives while its priority is 255 (keepalived's
    ``owner_ignore_adverts``, RFC 9568 §6.4.3: the address owner never leaves MASTER anyway)?

    Only an address owner can (keepalived ignores the keyword at another priority, with an error).
    An owner's own setting counts, except that strict mode (RFC conformance) requires it: there it is
    always true.  Unset, it is true under strict mode, else ``vrrp_owner_ignore_adverts``."""
    if inst.effective_priority != PRIORITY_OWNER:
        return False
    if config.strict(inst):
        return True
    if inst.owner_ignore_adverts is not None:
        return inst.owner_ignore_adverts
    return config.global_defs.vrrp_owner_ignore_adverts
