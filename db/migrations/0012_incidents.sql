-- Platform outages (issue 7). An incident is a workflow like any other: its row
-- in workflow_records (kind 'incident', business_key = the platform) holds its
-- view, its audit trail is in audit_log under the incident id. Listed newest
-- first per platform, and the open ones for GET /health.
CREATE INDEX workflow_records_incidents ON workflow_records (business_key, created_at DESC)
    WHERE kind = 'incident';
