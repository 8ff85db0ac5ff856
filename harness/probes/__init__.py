"""Probes that judge a run: PromQL queries, what the load generator's users saw, and the
data checks after the fault."""
