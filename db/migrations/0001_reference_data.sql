-- Reference data the workflows validate and route against.

CREATE TABLE branches (
    branch_id   text PRIMARY KEY,
    name        text NOT NULL,
    timezone    text NOT NULL DEFAULT 'America/Chicago'
);

CREATE TABLE people (
    person_id   text PRIMARY KEY,
    name        text NOT NULL,
    email       text NOT NULL,
    team        text,
    region      text,
    part_time   boolean NOT NULL DEFAULT false
);

CREATE TABLE accounts (
    account_number   text PRIMARY KEY,
    name             text NOT NULL,
    active           boolean NOT NULL DEFAULT true,
    punchout_enabled boolean NOT NULL DEFAULT false,
    -- NULL means the configured default SLA.
    sla_minutes      integer CHECK (sla_minutes > 0),
    business_unit    text
);

-- The account's people: account_rep, team_lead, csc_manager.
CREATE TABLE account_contacts (
    account_number text NOT NULL REFERENCES accounts,
    contact_role   text NOT NULL,
    person_id      text NOT NULL REFERENCES people,
    PRIMARY KEY (account_number, contact_role)
);

-- IT support contacts per platform (sterling_oms, conexiom, iseries, ...).
CREATE TABLE it_support_contacts (
    platform  text NOT NULL,
    person_id text NOT NULL REFERENCES people,
    PRIMARY KEY (platform, person_id)
);

-- A buyer's cXML identity (Header/From credential) and the Sender SharedSecret, hashed.
CREATE TABLE punchout_credentials (
    domain         text NOT NULL,
    identity       text NOT NULL,
    account_number text NOT NULL REFERENCES accounts,
    secret_hash    text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (domain, identity)
);

CREATE TABLE ship_to_addresses (
    account_number text NOT NULL REFERENCES accounts,
    address_id     text NOT NULL,
    name           text NOT NULL DEFAULT '',
    lines          text[] NOT NULL DEFAULT '{}',
    city           text NOT NULL DEFAULT '',
    state          text NOT NULL DEFAULT '',
    postal_code    text NOT NULL DEFAULT '',
    country        text NOT NULL DEFAULT 'US',
    branch_id      text NOT NULL REFERENCES branches,
    PRIMARY KEY (account_number, address_id)
);

CREATE TABLE parts (
    part_id     text PRIMARY KEY,
    description text NOT NULL DEFAULT '',
    base_uom    text NOT NULL
);

-- Units a part is sold in; factor = how many base units one of this unit holds.
CREATE TABLE part_uoms (
    part_id text NOT NULL REFERENCES parts,
    uom     text NOT NULL,
    factor  numeric NOT NULL CHECK (factor > 0),
    PRIMARY KEY (part_id, uom)
);

-- General unit conversions (DZ → EA = 12), for orders placed in a unit the part
-- is not sold in but converts into exactly.
CREATE TABLE uom_conversions (
    uom      text NOT NULL,
    base_uom text NOT NULL,
    factor   numeric NOT NULL CHECK (factor > 0),
    PRIMARY KEY (uom, base_uom)
);

CREATE TABLE part_pools (
    part_id   text NOT NULL REFERENCES parts,
    branch_id text NOT NULL REFERENCES branches,
    pool_id   text NOT NULL,
    PRIMARY KEY (part_id, branch_id, pool_id)
);

CREATE TABLE contract_prices (
    account_number   text NOT NULL REFERENCES accounts,
    part_id          text NOT NULL REFERENCES parts,
    uom              text NOT NULL,
    unit_price_cents bigint NOT NULL CHECK (unit_price_cents >= 0),
    PRIMARY KEY (account_number, part_id, uom)
);

CREATE TABLE customer_part_xref (
    account_number       text NOT NULL REFERENCES accounts,
    customer_part_number text NOT NULL,
    part_id              text NOT NULL REFERENCES parts,
    PRIMARY KEY (account_number, customer_part_number)
);

CREATE TABLE open_quotes (
    quote_id         text PRIMARY KEY,
    branch_id        text NOT NULL REFERENCES branches,
    account_number   text NOT NULL REFERENCES accounts,
    part_id          text NOT NULL REFERENCES parts,
    uom              text NOT NULL,
    unit_price_cents bigint NOT NULL,
    valid_until      date NOT NULL
);

CREATE TABLE processed_invoices (
    invoice_number   text NOT NULL,
    account_number   text NOT NULL REFERENCES accounts,
    part_id          text NOT NULL REFERENCES parts,
    uom              text NOT NULL,
    unit_price_cents bigint NOT NULL,
    invoiced_on      date NOT NULL,
    PRIMARY KEY (invoice_number, part_id)
);

CREATE TABLE api_keys (
    key_hash   text PRIMARY KEY,
    person_id  text NOT NULL REFERENCES people,
    label      text NOT NULL DEFAULT '',
    roles      text[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
