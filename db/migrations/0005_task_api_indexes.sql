-- The task API (GET /tasks) reads open or closed tasks, soonest due first: a
-- person's own, their roles' unassigned ones, one workflow's, or every task (an
-- operator). Each read walks an index in that order and stops at the page's
-- end; the closed ones, which only grow, stay apart from the open ones.
CREATE INDEX human_tasks_open_mine ON human_tasks (assignee, due_at, opened_at, task_id)
    WHERE closed_at IS NULL;
CREATE INDEX human_tasks_closed_mine ON human_tasks (assignee, due_at, opened_at, task_id)
    WHERE closed_at IS NOT NULL;
CREATE INDEX human_tasks_open_unassigned ON human_tasks (role, due_at, opened_at, task_id)
    WHERE closed_at IS NULL AND assignee IS NULL;
CREATE INDEX human_tasks_closed_unassigned ON human_tasks (role, due_at, opened_at, task_id)
    WHERE closed_at IS NOT NULL AND assignee IS NULL;
CREATE INDEX human_tasks_open_by_due ON human_tasks (due_at, opened_at, task_id)
    WHERE closed_at IS NULL;
CREATE INDEX human_tasks_closed_by_due ON human_tasks (due_at, opened_at, task_id)
    WHERE closed_at IS NOT NULL;
CREATE INDEX human_tasks_by_workflow ON human_tasks (workflow_id, due_at, opened_at);
