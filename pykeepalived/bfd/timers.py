"""BFD timer formulas as pure functions (RFC 5880 §6.8.2-§6.8.4, §6.8.7).  Intervals are microseconds.

Examples: we want 50 ms, the peer can receive every 20 ms -> we send every 50 ms (less jitter); the peer
sends every 50 ms with Detect Mult 3 and we can receive every 50 ms -> we declare it down after 150 ms.
"""

from __future__ import annotations

US_PER_S = 1_000_000
SLOW_TX_US = 1_000_000
"""RFC 5880 §6.8.3: while not Up, bfd.DesiredMinTxInterval is at least one second."""
JITTER_MAX = 0.25
"""RFC 5880 §6.8.7: each periodic interval is reduced by a random 0-25 % ..."""
JITTER_MIN_DETECT_MULT_1 = 0.10
"""... and by 10-25 % when bfd.DetectMult is 1 (so the interval is 75-90 % of the negotiated one)."""


def transmit_interval_us(desired_min_tx_us: int, remote_min_rx_us: int) -> int:
    """RFC 5880 §6.8.2/§6.8.7: the larger of what we want and what the peer can receive."""
    return max(desired_min_tx_us, remote_min_rx_us)


def detection_time_us(remote_detect_mult: int, required_min_rx_us: int, remote_desired_min_tx_us: int) -> int:
    """RFC 5880 §6.8.4 (Asynchronous mode): the peer's Detect Mult times the agreed interval of the peer,
    the larger of our bfd.RequiredMinRxInterval and the peer's last Desired Min TX Interval."""
    return remote_detect_mult * max(required_min_rx_us, remote_desired_min_tx_us)


def jittered_interval_us(interval_us: int, detect_mult: int, fraction: float) -> float:
    """One periodic interval after RFC 5880 §6.8.7 jitter; ``fraction`` in [0, 1) is the random draw.

    The reduction is ``JITTER_MAX * fraction`` (0-25 %), or 10-25 % when ``detect_mult`` is 1.
    """
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"jitter fraction {fraction} is not in [0, 1)")
    low = JITTER_MIN_DETECT_MULT_1 if detect_mult == 1 else 0.0
    return interval_us * (1.0 - low - (JITTER_MAX - low) * fraction)


def us_to_s(us: float) -> float:
    return us / US_PER_S
