"""The HTTP plumbing every service shares: middleware, probes, body parsing, app factory."""
