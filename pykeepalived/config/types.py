"""Building blocks of the config model: base models, strict scalars, typed IP addresses.

Scalars are strict (a YAML ``yes`` is never an integer, ``"10"`` is never a number); IP addresses must
be written as strings and come out as :mod:`ipaddress` objects.
"""

from __future__ import annotations

import functools
import ipaddress
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Address, IPv6Interface, IPv6Network
from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, WithJsonSchema
from pydantic.config import JsonDict
from pydantic_core import PydanticCustomError

from pykeepalived.errors import UsageError

_T = TypeVar("_T")


class StrictModel(BaseModel):
    """Frozen, unknown keys forbidden (scalars are strict through the annotated types below).

    ``defer_build``: a model's validator is built when first used, not when its class is created.
    ``Config``'s one build covers every model inside it; building each class's own validator at import
    as well (the nested ones again inside each parent) only made imports slower.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)


def _hide_name(schema: JsonDict) -> None:
    properties = schema.get("properties")
    if isinstance(properties, dict):
        properties.pop("name", None)


class NamedModel(StrictModel):
    """An entry of a named section; ``name`` is its key in the section mapping."""

    model_config = ConfigDict(json_schema_extra=_hide_name)

    name: Annotated[str, Field(strict=True, min_length=1)] = Field(
        "", description="set from the mapping key; never written in YAML")


def first_set(*values: _T | None) -> _T:
    """The first value that is not None (the last argument is the default)."""
    for value in values:
        if value is not None:
            return value
    raise ValueError("no value")  # pragma: no cover - callers always pass a final default


Int = Annotated[int, Field(strict=True)]
Bool = Annotated[bool, Field(strict=True)]
Str = Annotated[str, Field(strict=True, min_length=1)]
IfName = Annotated[str, Field(strict=True, min_length=1, max_length=15, pattern=r"^[^\s/:]+$")]
"""A Linux interface name (at most 15 bytes, no white space, '/' or ':')."""
IFNAMSIZ = 16
"""The kernel's buffer for an interface name, the terminating zero included."""


def check_ifname(ifname: str) -> None:
    """UsageError unless the kernel could take ``ifname`` as an interface or address label name
    (``eth0``, ``vrrp.51``, ``eth0:vip``): 1-15 bytes, no white space, no '/'."""
    if not ifname or len(ifname) >= IFNAMSIZ or "/" in ifname or any(c.isspace() for c in ifname):
        raise UsageError(f"invalid interface name: {ifname!r}")
Seconds = Annotated[float, Field(strict=True, ge=0)]
"""A duration in seconds; integers and decimals are both accepted (``advert_int: 0.5``)."""
Port = Annotated[int, Field(strict=True, ge=0, le=65535)]
Weight = Annotated[int, Field(strict=True, ge=0, le=65535)]
TrackWeight = Annotated[int, Field(strict=True, ge=-253, le=253)]


def field_error(code: str, message: str, field: str = "") -> PydanticCustomError:
    """A rule's error, with its message as written.  From a model validator, ``field`` names the
    key it belongs to: it is reported at that key (its line and column) when the key is written,
    else at the block.  From a field validator, leave ``field`` empty (the error is at the field)."""
    return PydanticCustomError(code, message.replace("{", "{{").replace("}", "}}"), {"field": field})


def _need_str(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise PydanticCustomError(
            f"{what}_type", "expected {what} written as a string, got {got}",
            {"what": what.replace("_", " "), "got": type(value).__name__},
        )
    return value


#: addresses are immutable and a big configuration repeats the same few (real servers): parse each once
_ip_address = functools.lru_cache(maxsize=4096)(ipaddress.ip_address)


def _parse_address(value: object) -> IPv4Address | IPv6Address:
    if isinstance(value, IPv4Address | IPv6Address):
        return value
    text = _need_str(value, "ip_address")
    try:
        return _ip_address(text)
    except ValueError:
        raise PydanticCustomError(
            "ip_address", "'{value}' is not a valid IP address", {"value": text}
        ) from None


def _parse_ipv4(value: object) -> IPv4Address:
    address = _parse_address(value)
    if not isinstance(address, IPv4Address):
        raise PydanticCustomError("ipv4_address", "'{value}' is not an IPv4 address", {"value": str(value)})
    return address


def _parse_ipv6(value: object) -> IPv6Address:
    address = _parse_address(value)
    if not isinstance(address, IPv6Address):
        raise PydanticCustomError("ipv6_address", "'{value}' is not an IPv6 address", {"value": str(value)})
    return address


def _parse_interface(value: object) -> IPv4Interface | IPv6Interface:
    if isinstance(value, IPv4Interface | IPv6Interface):
        return value
    text = _need_str(value, "ip_address")
    try:
        return ipaddress.ip_interface(text)
    except ValueError:
        raise PydanticCustomError(
            "ip_address", "'{value}' is not a valid IP address or address/prefix", {"value": text}
        ) from None


def _parse_network(value: object) -> IPv4Network | IPv6Network:
    if isinstance(value, IPv4Network | IPv6Network):
        return value
    text = _need_str(value, "ip_network")
    if text == "default":
        raise PydanticCustomError("ip_network", "write 'default' as 0.0.0.0/0 or ::/0", {})
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise PydanticCustomError(
            "ip_network", "'{value}' is not a valid network (address/prefix)", {"value": text}
        ) from None


_to_str = PlainSerializer(str, return_type=str)

IpAddress = Annotated[
    IPv4Address | IPv6Address,
    PlainValidator(_parse_address),
    _to_str,
    WithJsonSchema({"type": "string", "description": "an IPv4 or IPv6 address"}),
]
Ipv4Address = Annotated[
    IPv4Address, PlainValidator(_parse_ipv4), _to_str,
    WithJsonSchema({"type": "string", "format": "ipv4"}),
]
Ipv6Address = Annotated[
    IPv6Address, PlainValidator(_parse_ipv6), _to_str,
    WithJsonSchema({"type": "string", "format": "ipv6"}),
]
IpInterface = Annotated[
    IPv4Interface | IPv6Interface,
    PlainValidator(_parse_interface),
    _to_str,
    WithJsonSchema({"type": "string", "description": "an address with optional /prefix (default /32, /128)"}),
]
IpNetwork = Annotated[
    IPv4Network | IPv6Network,
    PlainValidator(_parse_network),
    _to_str,
    WithJsonSchema({"type": "string", "description": "a network, address/prefix"}),
]
