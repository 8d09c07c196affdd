-- Authorization by relation (issue 20): which objects a person or key may act
-- on. Team membership (people.team_id, teams.lead_id) and a system key's
-- accounts (api_key_accounts, integration_accounts) exist already; this adds
-- who runs which branch, who works for which store, and names the account
-- contact roles the SOPs use.

-- The branch(es) a branch manager runs: they ship and edit those branches' orders.
CREATE TABLE branch_managers (
    person_id text NOT NULL REFERENCES people,
    branch_id text NOT NULL REFERENCES branches,
    PRIMARY KEY (person_id, branch_id)
);
CREATE INDEX branch_managers_by_branch ON branch_managers (branch_id);

-- The store(s) an OOM agent or a store manager works for: their open orders.
CREATE TABLE store_staff (
    person_id text NOT NULL REFERENCES people,
    store_id  text NOT NULL REFERENCES stores ON DELETE CASCADE,
    role      text NOT NULL CHECK (role IN ('oom_agent', 'store_manager')),
    PRIMARY KEY (person_id, store_id, role)
);
CREATE INDEX store_staff_by_store ON store_staff (store_id);

-- The store's manager as the stores table named them keeps the relation.
INSERT INTO store_staff (person_id, store_id, role)
SELECT s.manager_id, s.store_id, 'store_manager' FROM stores s
  JOIN people p ON p.person_id = s.manager_id
ON CONFLICT DO NOTHING;

-- An account's points of contact per the SOPs: the rep, their team lead, the
-- CSC manager, the RAM or NAM (account manager), the SSM and the IM. A typo
-- would silently grant nothing, so the roles are a closed list.
ALTER TABLE account_contacts ADD CONSTRAINT account_contacts_role
    CHECK (contact_role IN ('account_rep', 'team_lead', 'csc_manager', 'ram', 'nam', 'ssm', 'im'));
CREATE INDEX account_contacts_by_person ON account_contacts (person_id, contact_role);
