-- Which run a row describes, and when the workflow ended (NULL while it runs), so
-- the reconciler can find rows whose workflow ended without a last write
-- (terminated, reset, timed out) and close them and their tasks.
ALTER TABLE workflow_records ADD COLUMN run_id text;
ALTER TABLE workflow_records ADD COLUMN closed_at timestamptz;
CREATE INDEX workflow_records_running ON workflow_records (updated_at) WHERE closed_at IS NULL;
CREATE INDEX human_tasks_workflow ON human_tasks (workflow_id) WHERE closed_at IS NULL;
-- From here on a write wins when its (updated_at, revision) is newer: workflow
-- time only moves forward across a resend, a continue-as-new and a reset, while
-- a reset run's revision counter starts again from the reset point.
