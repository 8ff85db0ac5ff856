"""Chaos harness: runs the local stack and experiments against it."""

__all__ = ["__version__"]
__version__ = "0.1.0"
