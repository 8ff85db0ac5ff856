"""Logs, traces and metrics: the three signals every service emits."""
