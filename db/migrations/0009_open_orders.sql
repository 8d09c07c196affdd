-- Open orders (issue 9): the stores' calendars the workflows time their rules
-- by (time zone, calling hours, business days, holidays, who resolves CWC),
-- and the open-order work list's index on the read model.

CREATE TABLE stores (
    store_id        text PRIMARY KEY,
    name            text NOT NULL,
    timezone        text NOT NULL,
    opens           time NOT NULL DEFAULT '09:00',
    evening_starts  time NOT NULL DEFAULT '17:00',
    closes          time NOT NULL DEFAULT '21:00',
    -- 0 = Monday: the days the OOM team works for this store.
    business_days   smallint[] NOT NULL DEFAULT '{0,1,2,3,4}',
    -- The store manager who resolves its CWC orders.
    manager_id      text,
    CHECK (opens < evening_starts AND evening_starts < closes)
);

CREATE TABLE store_holidays (
    store_id  text NOT NULL REFERENCES stores ON DELETE CASCADE,
    day       date NOT NULL,
    name      text NOT NULL DEFAULT '',
    PRIMARY KEY (store_id, day)
);

CREATE INDEX workflow_records_open_orders_by_store
    ON workflow_records ((view ->> 'store_id'), status, updated_at DESC)
    WHERE kind = 'open_order';
