"""A throw-away self-signed certificate for TLS probe tests (openssl; the test is skipped without it)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def self_signed(directory: Path, common_name: str = "rs.example") -> tuple[Path, Path]:
    """(cert.pem, key.pem) for ``common_name`` in ``directory``; the calling test is skipped without
    openssl."""
    if shutil.which("openssl") is None:
        import pytest  # noqa: PLC0415  (only a test calls this; testing/ imports no pytest at import time)

        pytest.skip("openssl is needed to make a test certificate")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    f"/CN={common_name}", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key
