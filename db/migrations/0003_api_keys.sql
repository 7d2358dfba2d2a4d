-- 0003_api_keys: API keys, stored only as SHA-256 hashes. A key is 32
-- random bytes, so a fast hash is enough: nothing can be guessed from it.
CREATE TABLE api_keys (
    id          uuid PRIMARY KEY,
    name        text,
    scope       text NOT NULL CHECK (scope IN ('read', 'booking', 'admin')),
    key_hash    text NOT NULL UNIQUE,   -- lower-case hex SHA-256 of the whole key
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
