"""A stand-in for the VRRP codec: adverts become opaque tokens, unknown bytes are a codec reject."""

from __future__ import annotations

import itertools

from pykeepalived.errors import PacketError
from pykeepalived.vrrp.packet import Advertisement, IPAddress


class FakeWire:
    """``encode`` and ``decode`` with the codec's signatures; what one encodes the other decodes."""

    def __init__(self) -> None:
        self._by_token: dict[bytes, Advertisement] = {}
        self._n = itertools.count()

    def encode(self, advert: Advertisement, src: IPAddress | None = None,
               dst: IPAddress | None = None) -> bytes:
        token = f"advert-{next(self._n)}".encode()
        self._by_token[token] = advert
        return token

    def decode(self, data: bytes, *, src: IPAddress | None = None,
               dst: IPAddress | None = None) -> Advertisement:
        try:
            return self._by_token[data]
        except KeyError:
            raise PacketError("packet_len_err", "not a packet this wire made") from None
