"""``vrrp_track_process`` (keepalived 2.2.7, keepalived.conf(5) "VRRP track processes") and the
``track_process`` references of instances and sync groups.  Re-exported by
:mod:`pykeepalived.config.model`.

Differences from keepalived's parser, both for a clearer config: ``quorum`` above ``quorum_max``
is an error (keepalived ignores the second keyword with a log line); ``fork_delay`` /
``terminate_delay`` win over ``delay`` whatever their order (keepalived: the last one written).
"""

from __future__ import annotations

import enum
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from pykeepalived.config.types import Bool, NamedModel, Str, StrictModel, field_error, first_set

ProcessWeight = Annotated[int, Field(strict=True, ge=-254, le=254)]
ProcessDelay = Annotated[float, Field(strict=True, gt=0, le=3600)]
COMM_MAX_LEN = 15


class ParamMatch(enum.StrEnum):
    """``param_match``: how the configured parameters are compared with the process's."""

    EXACT = "exact"
    PARTIAL = "partial"
    INITIAL = "initial"


class VrrpTrackProcess(NamedModel):
    process: Str = Field(description="the process name (comm), or argv[0] with full_command")
    params: tuple[Annotated[str, Field(strict=True)], ...] = Field(
        default=(), description="parameters to match (implies full_command; default match: exact)")
    param_match: ParamMatch | None = Field(
        default=None, description="exact, partial or initial (implies full_command)")
    full_command: Bool = False
    weight: ProcessWeight = 0
    reverse: Bool = False
    quorum: Annotated[int, Field(strict=True, ge=1, le=65535)] | None = Field(
        default=None, description="default 1")
    quorum_max: Annotated[int, Field(strict=True, ge=0, le=65535)] | None = Field(
        default=None, description="default: no maximum; 0 means the process must not run")
    delay: ProcessDelay | None = Field(default=None, description="sets fork_delay and terminate_delay")
    fork_delay: ProcessDelay | None = None
    terminate_delay: ProcessDelay | None = None

    @field_validator("params", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _quorum_range(self) -> VrrpTrackProcess:
        if self.quorum_max is None:
            return self
        if self.quorum_max == 0 and self.quorum is not None:
            raise field_error("quorum", "quorum_max 0 means the process must not run: drop 'quorum'",
                              "quorum")
        if self.quorum_max and self.effective_quorum > self.quorum_max:
            raise field_error("quorum", f"quorum {self.effective_quorum} is above quorum_max "
                              f"{self.quorum_max}", "quorum_max")
        return self

    @property
    def uses_cmdline(self) -> bool:
        """Matched against the command line (argv) rather than the process name."""
        return self.full_command or bool(self.params) or self.param_match is not None

    @property
    def effective_param_match(self) -> ParamMatch | None:
        if self.param_match is not None:
            return self.param_match
        return ParamMatch.EXACT if self.params else None

    @property
    def effective_quorum(self) -> int:
        if self.quorum is not None:
            return self.quorum
        return 0 if self.quorum_max == 0 else 1

    @property
    def fork_delay_s(self) -> float:
        return first_set(self.fork_delay, self.delay, 0.0)

    @property
    def terminate_delay_s(self) -> float:
        return first_set(self.terminate_delay, self.delay, 0.0)


class TrackProcessRef(StrictModel):
    """``NAME`` or ``{name: NAME, weight: W, reverse: BOOL}``; weight None = the process's own."""

    name: Str
    weight: ProcessWeight | None = None
    reverse: Bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: object) -> object:
        return {"name": value} if isinstance(value, str) else value
