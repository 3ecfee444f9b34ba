"""Configuration: YAML and keepalived.conf into one frozen model, with positioned diagnostics (pure).

Readers import :func:`load_config` (or :func:`check_config` for every diagnostic) and the model
classes from here.  The keepalived.conf reader builds plain data plus a :class:`PositionMap` and hands
them to :func:`validate_data`, exactly like the YAML reader.  Rules shared by every reader live
here once: keepalived's script rules (``script_security.py``), ``vrrp_strict`` (``strict.py``).

The bottom layer: may import :mod:`pykeepalived.errors`, :mod:`pykeepalived.wire`, pydantic and
yaml; nothing else of the project (import-linter enforces it).
"""

from pykeepalived.config.diagnostics import Diagnostic, Severity, render_json, render_text
from pykeepalived.config.load import (
    CheckResult,
    Syntax,
    check_config,
    check_text,
    default_config_path,
    detect_syntax,
    load_config,
)
from pykeepalived.config.model import (
    Checker,
    CheckTiming,
    Config,
    DnsCheck,
    GlobalDefs,
    HttpGet,
    LbAlgo,
    LbKind,
    MiscCheck,
    Protocol,
    RealServer,
    SslGet,
    TcpCheck,
    VirtualIpAddress,
    VirtualServer,
    VirtualServerGroup,
    VrrpInstance,
    VrrpScript,
    VrrpState,
    VrrpSyncGroup,
    check_timing,
)
from pykeepalived.config.source import Position, PositionMap, SourceResult, load_yaml
from pykeepalived.config.validate import validate_data

__all__ = [
    "CheckResult",
    "CheckTiming",
    "Checker",
    "Config",
    "Diagnostic",
    "DnsCheck",
    "GlobalDefs",
    "HttpGet",
    "LbAlgo",
    "LbKind",
    "MiscCheck",
    "Position",
    "PositionMap",
    "Protocol",
    "RealServer",
    "Severity",
    "SourceResult",
    "SslGet",
    "Syntax",
    "TcpCheck",
    "VirtualIpAddress",
    "VirtualServer",
    "VirtualServerGroup",
    "VrrpInstance",
    "VrrpScript",
    "VrrpState",
    "VrrpSyncGroup",
    "check_config",
    "check_text",
    "check_timing",
    "default_config_path",
    "detect_syntax",
    "load_config",
    "load_yaml",
    "render_json",
    "render_text",
    "validate_data",
]
