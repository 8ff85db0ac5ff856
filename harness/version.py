"""The harness's version: the installed distribution's, else the source tree's."""

from __future__ import annotations

from importlib import metadata

from harness import __version__

__all__ = ["version"]


def version() -> str:
    try:
        return metadata.version("chaos-harness")
    except metadata.PackageNotFoundError:
        return __version__
