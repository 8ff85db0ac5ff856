"""The sample shop: gateway, catalog and orders services, instrumented and resilient.

Run one replica per process: `python -m sample_app --service catalog --port 18201`.
See README.md in this package for the endpoints, knobs and metrics.
"""

__all__: list[str] = []
