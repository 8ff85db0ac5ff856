"""What every model of a harness/v1 file shares: strict, frozen, finite."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["MAX_COUNT", "NAME", "Strict"]

NAME = r"^[a-z0-9][a-z0-9_-]*$"
MAX_COUNT = 1000  # replicas a selector may ask for; the topology allows 50 per service


class Strict(BaseModel):
    # no NaN or infinity in any number: `.inf` once ran a fault forever
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
