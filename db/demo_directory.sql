-- Demo directory: the demo accounts' regions, the demo people's teams and what
-- they do, and the IM, SSM and RAM of the account-change walkthrough. Safe to
-- load twice.

UPDATE accounts SET region = 'US-South' WHERE account_number IN ('401693', '404820') AND region IS NULL;
UPDATE accounts SET region = 'US-West' WHERE account_number IN ('402110', '403500') AND region IS NULL;

INSERT INTO people (person_id, name, email, team, region) VALUES
    ('ian.moore',    'Ian Moore',    'ian.moore@example.com',    'Customer Service Center', 'US'),
    ('sara.mills',   'Sara Mills',   'sara.mills@example.com',   'Customer Service Center', 'US'),
    ('rachel.adams', 'Rachel Adams', 'rachel.adams@example.com', 'North American sales and branches', 'US')
ON CONFLICT DO NOTHING;

UPDATE people SET team_id = 'na-sales'
 WHERE person_id IN ('maria.lopez', 'james.chen', 'tom.baker', 'rachel.adams') AND team_id IS NULL;
UPDATE people SET team_id = 'ops-support'
 WHERE person_id IN ('ivy.shah', 'ops.admin', 'carol.nguyen', 'ian.moore', 'sara.mills') AND team_id IS NULL;
UPDATE people SET team_id = 'branches' WHERE person_id = 'bob.ortiz' AND team_id IS NULL;
UPDATE teams SET lead_id = 'tom.baker' WHERE team_id = 'na-sales' AND lead_id IS NULL;

INSERT INTO person_capabilities (person_id, capability, region, level) VALUES
    ('maria.lopez', 'order_processing', 'US-South', 'primary'),
    ('james.chen', 'order_processing', 'US-West', 'primary'),
    ('tom.baker', 'escalation', 'US-South', 'primary'),
    ('tom.baker', 'escalation', 'US-West', 'primary'),
    ('carol.nguyen', 'escalation', '*', 'backup'),
    ('ian.moore', 'account_implementation', '*', 'primary'),
    ('carol.nguyen', 'account_implementation', '*', 'backup'),
    ('sara.mills', 'sales_support', '*', 'primary')
ON CONFLICT DO NOTHING;

-- Relations (issue 20): who acts on which object. Bob Ortiz runs Odessa; the
-- demo OOM agent and store manager work for every demo store; the account
-- change walkthrough's national account has its NAM, IM and SSM, and so do the
-- Propetro and Rio Grande accounts (IM and SSM).
INSERT INTO branch_managers (person_id, branch_id) VALUES ('bob.ortiz', 'BR-ODS')
ON CONFLICT DO NOTHING;

INSERT INTO people (person_id, name, email, team) VALUES
    ('demo-oom-agent', 'Demo OOM agent', 'demo-oom-agent@example.com', 'Open orders'),
    ('demo-store-manager', 'Demo store manager', 'demo-store-manager@example.com', 'Stores')
ON CONFLICT DO NOTHING;

INSERT INTO store_staff (person_id, store_id, role)
SELECT p.person_id, s.store_id, p.role
FROM (VALUES ('demo-oom-agent', 'oom_agent'), ('demo-store-manager', 'store_manager')) AS p(person_id, role)
CROSS JOIN stores s WHERE s.store_id IN ('101', '205', '310')
ON CONFLICT DO NOTHING;

INSERT INTO accounts (account_number, name, active, punchout_enabled, business_unit, region) VALUES
    ('NA-7001', 'Propetro national account', true, false, 'Oil & Gas', 'US-South')
ON CONFLICT DO NOTHING;

INSERT INTO account_contacts (account_number, contact_role, person_id) VALUES
    ('NA-7001', 'nam', 'rachel.adams'),
    ('NA-7001', 'im', 'ian.moore'),
    ('NA-7001', 'ssm', 'sara.mills'),
    ('401693', 'im', 'ian.moore'),
    ('401693', 'ssm', 'sara.mills'),
    ('402110', 'im', 'ian.moore'),
    ('402110', 'ssm', 'sara.mills')
ON CONFLICT DO NOTHING;
