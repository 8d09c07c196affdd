-- Which accounts a system key may submit orders for: accounts bound to the key
-- itself, or the accounts of the integration the key belongs to (a PunchOut
-- network or an ERP feed submits for many buyers). A key bound to nothing may
-- submit for no account. Additive: existing keys keep working for everything
-- but order intake, until they are bound.

CREATE TABLE integrations (
    integration_id text PRIMARY KEY,
    name           text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE integration_accounts (
    integration_id text NOT NULL REFERENCES integrations ON DELETE CASCADE,
    account_number text NOT NULL REFERENCES accounts,
    PRIMARY KEY (integration_id, account_number)
);

ALTER TABLE api_keys ADD COLUMN integration_id text REFERENCES integrations;

CREATE TABLE api_key_accounts (
    key_hash       text NOT NULL REFERENCES api_keys ON DELETE CASCADE,
    account_number text NOT NULL REFERENCES accounts,
    PRIMARY KEY (key_hash, account_number)
);
