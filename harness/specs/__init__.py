"""File formats: YAML loaded safely with file:line errors, durations, the topology and experiments."""
