-- The task API filters a queue by account (GET /tasks?account=, the work-queue
-- page): the tasks of the workflows about one account, found through this.
CREATE INDEX workflow_records_by_account ON workflow_records (account_number, workflow_id);
