-- GET /metrics (issue 29): when each read-model row was last written, so the
-- read model's lag behind its workflows can be measured, and indexes that keep
-- the metrics' counts cheap.

-- updated_at is the workflow's time of its last change; written_at is when the
-- row took it (set here, so every writer of the row keeps it without knowing).
ALTER TABLE workflow_records ADD COLUMN written_at timestamptz NOT NULL DEFAULT now();

CREATE FUNCTION workflow_records_written_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.written_at := clock_timestamp();
    RETURN NEW;
END $$;
CREATE TRIGGER workflow_records_written_at BEFORE INSERT OR UPDATE ON workflow_records
    FOR EACH ROW EXECUTE FUNCTION workflow_records_written_at();

CREATE INDEX audit_log_sla ON audit_log (action) WHERE action IN ('sla reminder', 'sla breached');
CREATE INDEX buyer_documents_undelivered ON buyer_documents (kind, status)
    WHERE direction = 'sent' AND status <> 'sent';
