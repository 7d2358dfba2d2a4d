-- 0010_bound_keys: keys bound to providers. provider_ids NULL is an unbound
-- key (every provider its scope allows); otherwise the key sees and changes
-- only these providers, which need not exist yet (no foreign key: a bound
-- admin key may create them). Written only when a key is made.
ALTER TABLE api_keys ADD COLUMN provider_ids uuid[]
    CHECK (provider_ids IS NULL OR cardinality(provider_ids) BETWEEN 1 AND 1000);
