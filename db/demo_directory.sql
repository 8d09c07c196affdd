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
