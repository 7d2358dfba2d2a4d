-- 0004_idempotency: Idempotency-Key replays. A row is written in the same
-- transaction as the change it answers, so it exists exactly when the
-- change committed; requests with one key are serialized by a transaction
-- advisory lock (a second one in flight is told 409 at once).
CREATE TABLE idempotency_keys (
    api_key_id   uuid NOT NULL,
    idem_key     text NOT NULL,
    request_hash text NOT NULL,          -- hex SHA-256 of method, path, query and body
    status       integer NOT NULL,
    response     text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (api_key_id, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
