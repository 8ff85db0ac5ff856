"""The orders service: idempotent order creation persisted in PostgreSQL.

`sample_app.orders.app.build_orders_app` builds it; the model is shared with the gateway.
"""
