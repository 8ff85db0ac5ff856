"""Chaos harness: runs the local stack and experiments against it."""

__all__ = ["__version__"]
# pyproject.toml's version; `harness --version` prefers the installed package's metadata
__version__ = "0.1.0"
