-- Demo reference data: the seed's PunchOut customer (Propetro, 401693) and a few
-- others, enough to walk every validation rule. Safe to load twice.

INSERT INTO branches (branch_id, name, timezone) VALUES
    ('BR-ODS', 'Odessa, TX', 'America/Chicago'),
    ('BR-HOU', 'Houston, TX', 'America/Chicago'),
    ('BR-DEN', 'Denver, CO', 'America/Denver')
ON CONFLICT DO NOTHING;

INSERT INTO people (person_id, name, email, team, region) VALUES
    ('maria.lopez',  'Maria Lopez',  'maria.lopez@example.com',  'North American sales and branches', 'US-South'),
    ('james.chen',   'James Chen',   'james.chen@example.com',   'North American sales and branches', 'US-West'),
    ('tom.baker',    'Tom Baker',    'tom.baker@example.com',    'North American sales and branches', 'US'),
    ('carol.nguyen', 'Carol Nguyen', 'carol.nguyen@example.com', 'Customer Service Center', 'US'),
    ('bob.ortiz',    'Bob Ortiz',    'bob.ortiz@example.com',    'Branches', 'US-South'),
    ('ivy.shah',     'Ivy Shah',     'ivy.shah@example.com',     'Operations support', 'US'),
    ('punchout-network', 'PunchOut network', 'network@example.com', NULL, NULL),
    ('ops.admin',    'Operations admin', 'ops.admin@example.com', 'Operations support', 'US')
ON CONFLICT DO NOTHING;

INSERT INTO accounts (account_number, name, active, punchout_enabled, sla_minutes, business_unit) VALUES
    ('401693', 'Propetro Services', true,  true,  120, 'Oil & Gas'),
    ('402110', 'Rio Grande Water',  true,  true,  240, 'Water'),
    ('403500', 'Summit Mining',     false, true,  NULL, 'Mining'),
    ('404820', 'Bayou Fabricators', true,  false, NULL, 'Industrial')
ON CONFLICT DO NOTHING;

INSERT INTO account_contacts (account_number, contact_role, person_id) VALUES
    ('401693', 'account_rep', 'maria.lopez'),
    ('401693', 'team_lead',   'tom.baker'),
    ('401693', 'csc_manager', 'carol.nguyen'),
    ('402110', 'account_rep', 'james.chen'),
    ('402110', 'team_lead',   'tom.baker'),
    ('402110', 'csc_manager', 'carol.nguyen'),
    ('403500', 'account_rep', 'james.chen'),
    ('404820', 'account_rep', 'maria.lopez')
ON CONFLICT DO NOTHING;

INSERT INTO it_support_contacts (platform, person_id) VALUES
    ('sterling_oms', 'ivy.shah'),
    ('conexiom', 'ivy.shah')
ON CONFLICT DO NOTHING;

INSERT INTO ship_to_addresses (account_number, address_id, name, lines, city, state, postal_code, country, branch_id) VALUES
    ('401693', 'PP-ODESSA', 'Propetro Services — Odessa Yard', '{"2401 W Interstate 20"}', 'Odessa', 'TX', '79763', 'US', 'BR-ODS'),
    ('401693', 'PP-HQ', 'Propetro Services Inc.', '{"1706 S Midkiff Rd"}', 'Midland', 'TX', '79701', 'US', 'BR-ODS'),
    ('402110', 'RGW-PLANT2', 'Rio Grande Water Plant 2', '{"88 River Rd"}', 'Houston', 'TX', '77002', 'US', 'BR-HOU'),
    ('403500', 'SM-MINE1', 'Summit Mine 1', '{"1 Summit Way"}', 'Leadville', 'CO', '80461', 'US', 'BR-DEN')
ON CONFLICT DO NOTHING;

INSERT INTO parts (part_id, description, base_uom) VALUES
    ('HX-1001', 'Hex bolt 1/2-13 x 3 grade 8', 'EA'),
    ('GS-2040', 'Spiral wound gasket 4in 600#', 'EA'),
    ('PV-3300', 'Ball valve 3in 600# carbon steel', 'EA'),
    ('PP-5150', 'PVC pipe 2in schedule 40', 'FT'),
    ('FL-7007', 'Weld neck flange 4in 300#', 'EA')
ON CONFLICT DO NOTHING;

INSERT INTO part_uoms (part_id, uom, factor) VALUES
    ('HX-1001', 'EA', 1), ('HX-1001', 'BX', 50),
    ('GS-2040', 'EA', 1), ('GS-2040', 'CS', 12),
    ('PV-3300', 'EA', 1),
    ('PP-5150', 'FT', 1), ('PP-5150', 'LG', 20),
    ('FL-7007', 'EA', 1)
ON CONFLICT DO NOTHING;

INSERT INTO uom_conversions (uom, base_uom, factor) VALUES
    ('DZ', 'EA', 12), ('PR', 'EA', 2), ('YD', 'FT', 3)
ON CONFLICT DO NOTHING;

-- FL-7007 sits in two pools at Odessa: the SOP's "multiple pool failure".
INSERT INTO part_pools (part_id, branch_id, pool_id) VALUES
    ('HX-1001', 'BR-ODS', 'ODS-MAIN'), ('HX-1001', 'BR-HOU', 'HOU-MAIN'),
    ('GS-2040', 'BR-ODS', 'ODS-MAIN'), ('GS-2040', 'BR-HOU', 'HOU-MAIN'),
    ('PV-3300', 'BR-ODS', 'ODS-VALVES'),
    ('PP-5150', 'BR-HOU', 'HOU-PIPE'), ('PP-5150', 'BR-DEN', 'DEN-MAIN'),
    ('FL-7007', 'BR-ODS', 'ODS-MAIN'), ('FL-7007', 'BR-ODS', 'ODS-FAB')
ON CONFLICT DO NOTHING;

INSERT INTO contract_prices (account_number, part_id, uom, unit_price_cents) VALUES
    ('401693', 'HX-1001', 'EA', 235),
    ('401693', 'GS-2040', 'EA', 410),
    ('401693', 'PV-3300', 'EA', 18900),
    ('401693', 'FL-7007', 'EA', 6450),
    ('402110', 'PP-5150', 'FT', 312),
    ('402110', 'HX-1001', 'EA', 240)
ON CONFLICT DO NOTHING;

INSERT INTO customer_part_xref (account_number, customer_part_number, part_id) VALUES
    ('401693', 'PP-BOLT-12', 'HX-1001'),
    ('401693', 'PP-GASKET', 'GS-2040'),
    ('401693', 'PP-VALVE-3', 'PV-3300'),
    ('401693', 'PP-FLANGE-4', 'FL-7007'),
    ('402110', 'RGW-PIPE-2', 'PP-5150')
ON CONFLICT DO NOTHING;

INSERT INTO open_quotes (quote_id, branch_id, account_number, part_id, uom, unit_price_cents, valid_until) VALUES
    ('Q-ODS-2291', 'BR-ODS', '401693', 'PV-3300', 'EA', 17500, '2027-06-30')
ON CONFLICT DO NOTHING;

INSERT INTO processed_invoices (invoice_number, account_number, part_id, uom, unit_price_cents, invoiced_on) VALUES
    ('INV-88120', '401693', 'FL-7007', 'EA', 6200, '2026-09-14')
ON CONFLICT DO NOTHING;

-- The demo PunchOut network: its system key (db/demo.py) may submit orders for
-- every demo account, so every validation rule can be walked.
INSERT INTO integrations (integration_id, name) VALUES
    ('punchout-network', 'Demo PunchOut network')
ON CONFLICT DO NOTHING;

INSERT INTO integration_accounts (integration_id, account_number) VALUES
    ('punchout-network', '401693'),
    ('punchout-network', '402110'),
    ('punchout-network', '403500'),
    ('punchout-network', '404820')
ON CONFLICT DO NOTHING;

-- Buyers' cXML credentials are added by db/demo.py: their secrets need hashing.
