-- 0005_delivery_stats: webhook delivery attempts by outcome, for /metrics.
-- The relays add to these counters in the same statement that records the
-- attempts, so the totals count every recorded attempt exactly once however
-- many relays run and however often they restart, and pruning the delivery
-- log does not lower them.
CREATE TABLE delivery_stats (
    outcome text PRIMARY KEY CHECK (outcome IN ('delivered', 'retried', 'failed')),
    total   bigint NOT NULL DEFAULT 0
);
INSERT INTO delivery_stats (outcome) VALUES ('delivered'), ('retried'), ('failed');
