-- 0011_webhooks_order: GET /api/webhooks lists subscriptions oldest first.
-- created_at is the request's time to the millisecond, so two subscriptions
-- made within one millisecond tied and came back in id order (random); the
-- creation order now breaks the tie.
ALTER TABLE webhooks ADD COLUMN seq bigserial;
