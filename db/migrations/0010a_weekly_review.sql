-- The weekly review (order SOP): per ISO week, account and rep, the figures the
-- team lead's one-on-ones start from. Computed from the audit log and the read
-- model by db/reports.py; a week computed again replaces its rows.

CREATE TABLE weekly_review (
    week                  text NOT NULL,          -- ISO week, e.g. 2026-W48
    account_number        text NOT NULL,
    rep_id                text NOT NULL,          -- '-' when the account has no rep
    week_start            timestamptz NOT NULL,   -- Monday 00:00 in the center's time zone
    orders                integer NOT NULL,
    holds_by_code         jsonb NOT NULL DEFAULT '{}',
    holds_auto_resolved   integer NOT NULL,
    holds_manual_resolved integer NOT NULL,
    median_minutes_to_confirm numeric,
    p90_minutes_to_confirm    numeric,
    sla_breaches          integer NOT NULL,
    errors_systemic       integer NOT NULL,
    errors_human          integer NOT NULL,
    edits_by_root_cause   jsonb NOT NULL DEFAULT '{}',
    incident_orders       integer NOT NULL,
    fallback_orders       integer NOT NULL,
    computed_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (week, account_number, rep_id)
);
CREATE INDEX weekly_review_rep ON weekly_review (rep_id, week);

-- The review reads a week of orders by when they were received.
CREATE INDEX workflow_records_created ON workflow_records (kind, created_at);
