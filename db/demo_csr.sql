-- Demo CSR approver rules, casting the seed's people: Mary (sales rep) registers,
-- John pre-approves, Frank assesses and implements, Peter gives the final approval;
-- Sandra is the sales manager escalations go to. Two business units: Oil & Gas
-- (Propetro, 401693) and Water (Rio Grande, 402110), where John or Peter may
-- pre-approve. Safe to load twice.

INSERT INTO people (person_id, name, email, team, region) VALUES
    ('mary.jones',   'Mary Jones',   'mary.jones@example.com',   'Sales reps', 'US-South'),
    ('john.smith',   'John Smith',   'john.smith@example.com',   'Supply chain & quality', 'US'),
    ('frank.miller', 'Frank Miller', 'frank.miller@example.com', 'Tech. team & sales dev.', 'US'),
    ('peter.wright', 'Peter Wright', 'peter.wright@example.com', 'Sales mgr / dir', 'US'),
    ('sandra.cole',  'Sandra Cole',  'sandra.cole@example.com',  'Sales mgr / dir', 'US')
ON CONFLICT DO NOTHING;

INSERT INTO csr_approver_rules (business_unit, step, person_id) VALUES
    ('Oil & Gas', 'pre_approval',   'john.smith'),
    ('Oil & Gas', 'assessment',     'frank.miller'),
    ('Oil & Gas', 'final_approval', 'peter.wright'),
    ('Oil & Gas', 'implementation', 'frank.miller'),
    ('Oil & Gas', 'sales_manager',  'sandra.cole'),
    ('Water',     'pre_approval',   'john.smith'),
    ('Water',     'pre_approval',   'peter.wright'),
    ('Water',     'assessment',     'frank.miller'),
    ('Water',     'final_approval', 'peter.wright'),
    ('Water',     'implementation', 'frank.miller'),
    ('Water',     'sales_manager',  'sandra.cole')
ON CONFLICT DO NOTHING;
