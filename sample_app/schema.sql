-- The orders table. Idempotent: applied on every `harness up` (and safe to re-run).
-- The UNIQUE idempotency key is what makes a retried POST /orders exactly-once;
-- request_hash lets a reused key with a different body be refused (409).
CREATE TABLE IF NOT EXISTS orders (
    id              uuid        PRIMARY KEY,
    idempotency_key text        NOT NULL,
    request_hash    text        NOT NULL,
    product_id      integer     NOT NULL CHECK (product_id > 0),
    quantity        integer     NOT NULL CHECK (quantity BETWEEN 1 AND 100),
    status          text        NOT NULL DEFAULT 'created',
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT orders_idempotency_key_key UNIQUE (idempotency_key)
);
