"""The raw configuration document: what a reader produces before the pydantic model sees it.

Both readers (YAML in :mod:`pykeepalived.config.source`, keepalived.conf in
:mod:`pykeepalived.config.kaconf`) turn text into the same plain tree: mappings with string keys,
lists, and scalars.  ``Node`` names that tree precisely, so code that walks it narrows with
``isinstance`` instead of trusting an unchecked type; the model's ``mode="before"`` validators take
``object`` (pydantic may hand them anything) and narrow the same way.
"""

from __future__ import annotations

from typing import TypeAlias

Scalar: TypeAlias = str | int | float | bool | None
"""A leaf: YAML's null, bool, int, float and str (timestamps and binary stay their source text)."""

Node: TypeAlias = Scalar | list["Node"] | dict[str, "Node"]
"""A value of the document: a scalar, a list of nodes or a mapping of string keys to nodes."""

Document: TypeAlias = dict[str, Node]
"""The top level: a mapping of sections."""
