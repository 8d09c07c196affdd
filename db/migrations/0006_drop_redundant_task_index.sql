-- 0005's partial indexes serve every task query; this one only slowed writes.
DROP INDEX IF EXISTS human_tasks_open;
