-- The read model (written only by activities, idempotently) and the audit log.

CREATE TABLE workflow_records (
    workflow_id    text PRIMARY KEY,
    kind           text NOT NULL,
    status         text NOT NULL,
    account_number text,
    business_key   text,
    summary        text NOT NULL DEFAULT '',
    assignee       text,
    due_at         timestamptz,
    is_test        boolean NOT NULL DEFAULT false,
    -- The workflow's whole state as its query returns it, so reads need no
    -- worker and outlive Temporal's retention.
    view           jsonb,
    -- Bumped by the workflow at every change, so a late retry of an older
    -- write never overwrites a newer one; created_at (the run's start) orders
    -- a new run of the same workflow id after the old one.
    revision       integer NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
CREATE INDEX workflow_records_account ON workflow_records (kind, account_number, updated_at DESC);
CREATE INDEX workflow_records_status ON workflow_records (kind, status, updated_at DESC);

CREATE TABLE human_tasks (
    task_id     text PRIMARY KEY,
    workflow_id text NOT NULL,
    kind        text NOT NULL,
    assignee    text,
    queue       text,
    role        text NOT NULL,
    due_at      timestamptz,
    payload     jsonb NOT NULL DEFAULT '{}',
    opened_at   timestamptz NOT NULL,
    closed_at   timestamptz,
    outcome     text
);
CREATE INDEX human_tasks_open ON human_tasks (role, due_at) WHERE closed_at IS NULL;

CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    -- For a workflow: its id + the entry's position in its own log, the
    -- idempotency key that keeps activity retries from writing twice.
    entry_key   text NOT NULL UNIQUE,
    -- What the entry is about: a workflow id, or e.g. account:401693.
    subject_id  text NOT NULL,
    -- The entry's position in the workflow's own log: concurrent writes may
    -- commit out of order, the trail is read in this order.
    seq         integer,
    actor       text NOT NULL,
    action      text NOT NULL,
    from_status text,
    to_status   text,
    comment     text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL
);
CREATE INDEX audit_log_subject ON audit_log (subject_id, seq, id);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
