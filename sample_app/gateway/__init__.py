"""The gateway: the public entry, calling catalog and orders with every resilience pattern.

`sample_app.gateway.app.build_gateway_app` builds it.
"""
