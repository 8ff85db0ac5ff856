"""The catalog service: products from seeded data; the dependency the gateway can live without.

`sample_app.catalog.app.build_catalog_app` builds it.
"""
