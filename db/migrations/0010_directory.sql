-- The team directory and routing (spec accounts-and-teams.md), seeded from the
-- customer-service mind map: teams with their queue, what each member does for
-- which region (primary or cross-trained backup), who is away until when, and
-- the region of each account. Additive: people, account_contacts and
-- it_support_contacts keep their shape.

CREATE TABLE teams (
    team_id     text PRIMARY KEY,
    name        text NOT NULL,
    -- Where a task waits when nobody on the team can take it.
    queue       text NOT NULL UNIQUE,
    -- The sales regions the team serves.
    regions     text[] NOT NULL DEFAULT '{}',
    lead_id     text REFERENCES people
);

ALTER TABLE people
    ADD COLUMN team_id      text REFERENCES teams,
    ADD COLUMN away_until   timestamptz,
    ADD COLUMN away_comment text NOT NULL DEFAULT '';

ALTER TABLE accounts ADD COLUMN region text;

-- What a member does, for which region ('*': every region): primary, or a
-- cross-trained backup who takes it when no primary can.
CREATE TABLE person_capabilities (
    person_id  text NOT NULL REFERENCES people,
    capability text NOT NULL,
    region     text NOT NULL DEFAULT '*',
    level      text NOT NULL CHECK (level IN ('primary', 'backup')),
    PRIMARY KEY (person_id, capability, region)
);
CREATE INDEX person_capabilities_lookup ON person_capabilities (capability, region);

-- Routing counts a candidate's open tasks to spread the work.
CREATE INDEX human_tasks_open_assignee ON human_tasks (assignee) WHERE closed_at IS NULL;

INSERT INTO teams (team_id, name, queue, regions) VALUES
    ('sewer-europe', 'Sewer / Europe / Partnered re-sellers', 'team:sewer-europe', '{EU,SEWER}'),
    ('na-sales', 'North American sales and branches', 'team:na-sales', '{US,US-South,US-West}'),
    ('row', 'Rest of world', 'team:row', '{ROW}'),
    ('ops-support', 'Operations support for customer service', 'team:ops-support', '{}'),
    ('branches', 'Branches', 'team:branches', '{}'),
    ('repair-returns', 'Repair and returns', 'team:repair-returns', '{}')
ON CONFLICT DO NOTHING;

INSERT INTO people (person_id, name, email, team, region, part_time, team_id) VALUES
    ('adam.d', 'Adam D', 'adam.d@example.com', 'Sewer / Europe / Partnered re-sellers', 'EU', false, 'sewer-europe'),
    ('ken', 'Ken', 'ken@example.com', 'Sewer / Europe / Partnered re-sellers', 'SEWER', false, 'sewer-europe'),
    ('scotty', 'Scotty', 'scotty@example.com', 'Sewer / Europe / Partnered re-sellers', 'SEWER', true, 'sewer-europe'),
    ('kyle', 'Kyle', 'kyle@example.com', 'Sewer / Europe / Partnered re-sellers', 'EU', false, 'sewer-europe'),
    ('randy', 'Randy', 'randy@example.com', 'North American sales and branches', 'US', false, 'na-sales'),
    ('wendy', 'Wendy', 'wendy@example.com', 'North American sales and branches', 'US', false, 'na-sales'),
    ('kevin.simmons', 'Kevin Simmons', 'kevin.simmons@example.com', 'North American sales and branches', 'US', false, 'na-sales'),
    ('grady', 'Grady', 'grady@example.com', 'North American sales and branches', 'US', false, 'na-sales'),
    ('daniel', 'Daniel', 'daniel@example.com', 'Rest of world', 'ROW', false, 'row'),
    ('kristi', 'Kristi', 'kristi@example.com', 'Rest of world', 'ROW', false, 'row'),
    ('kevin.short', 'Kevin Short', 'kevin.short@example.com', 'Rest of world', 'ROW', true, 'row'),
    ('aaron', 'Aaron', 'aaron@example.com', 'Operations support', NULL, false, 'ops-support'),
    ('andy', 'Andy', 'andy@example.com', 'Operations support', NULL, false, 'ops-support'),
    ('chrissi', 'Chrissi', 'chrissi@example.com', 'Operations support', NULL, false, 'ops-support'),
    ('matt', 'Matt', 'matt@example.com', 'Operations support', NULL, false, 'ops-support'),
    ('marcy', 'Marcy', 'marcy@example.com', 'Operations support', NULL, false, 'ops-support')
ON CONFLICT DO NOTHING;

-- The mind map, member by member.
INSERT INTO person_capabilities (person_id, capability, region, level) VALUES
    -- Adam D: order processing SAEU/NL and partnered re-sellers, quote follow-up,
    -- order fulfilment support, pick/pack/ship and training new OF hires.
    ('adam.d', 'order_processing', 'EU', 'primary'),
    ('adam.d', 'quote_creation', 'EU', 'primary'),
    ('adam.d', 'pick_pack_ship', 'EU', 'primary'),
    ('adam.d', 'onboarding_training', 'EU', 'primary'),
    -- Ken: Sewer dealer support, order processing, lead-time quoting (A2P).
    ('ken', 'dealer_support', 'SEWER', 'primary'),
    ('ken', 'order_processing', 'SEWER', 'primary'),
    ('ken', 'lead_time_quoting', 'SEWER', 'primary'),
    -- Scotty (part time): lead-time expediting for Sewer; pick/pack/ship when very busy.
    ('scotty', 'lead_time_quoting', 'SEWER', 'primary'),
    ('scotty', 'pick_pack_ship', 'EU', 'backup'),
    -- Kyle: pick/pack/ship; backup SAEU/NL order processing; cross-trained on Sewer dealer support.
    ('kyle', 'pick_pack_ship', 'EU', 'primary'),
    ('kyle', 'order_processing', 'EU', 'backup'),
    ('kyle', 'dealer_support', 'SEWER', 'backup'),
    -- Randy: pull/pack/ship.
    ('randy', 'pick_pack_ship', 'US', 'primary'),
    -- Wendy: transfer orders, order processing (cross-trained behind the reps),
    -- cross-trained to customer support, pull/pack/ship, POs for redistributed parts.
    ('wendy', 'transfer_orders', 'US', 'primary'),
    ('wendy', 'order_processing', 'US', 'backup'),
    ('wendy', 'order_processing', 'US-South', 'backup'),
    ('wendy', 'order_processing', 'US-West', 'backup'),
    ('wendy', 'customer_support', 'US', 'backup'),
    ('wendy', 'pick_pack_ship', 'US', 'primary'),
    ('wendy', 'purchasing', 'US', 'primary'),
    -- Kevin Simmons: customer support, technical quoting, on-boarding and training.
    ('kevin.simmons', 'customer_support', 'US', 'primary'),
    ('kevin.simmons', 'technical_quoting', 'US', 'primary'),
    ('kevin.simmons', 'onboarding_training', '*', 'primary'),
    -- Grady: branch customer support, cross-trained to AE quoting, lead-time
    -- quoting, branch bins, back-up material coordinator, redistributed/BTO orders.
    ('grady', 'customer_support', 'US', 'primary'),
    ('grady', 'quote_creation', 'US', 'backup'),
    ('grady', 'lead_time_quoting', 'US', 'primary'),
    ('grady', 'material_coordination', '*', 'backup'),
    ('grady', 'purchasing', '*', 'primary'),
    -- Daniel: ROW sales support, lead-time quoting, order processing, quote creation.
    ('daniel', 'customer_support', 'ROW', 'primary'),
    ('daniel', 'lead_time_quoting', 'ROW', 'primary'),
    ('daniel', 'order_processing', 'ROW', 'primary'),
    ('daniel', 'quote_creation', 'ROW', 'primary'),
    -- Kristi: logistics, pick/pack/ship, cross-trained to process ROW orders.
    ('kristi', 'logistics', '*', 'primary'),
    ('kristi', 'pick_pack_ship', 'ROW', 'primary'),
    ('kristi', 'order_processing', 'ROW', 'backup'),
    -- Kevin Short (part time): pull/pack/ship.
    ('kevin.short', 'pick_pack_ship', 'ROW', 'primary'),
    -- Operations support.
    ('aaron', 'production_scheduling', '*', 'primary'),
    ('aaron', 'lead_time_quoting', '*', 'backup'),
    ('andy', 'material_coordination', '*', 'primary'),
    ('andy', 'rmas', '*', 'primary'),
    ('chrissi', 'purchasing', '*', 'backup'),
    ('matt', 'assembly', '*', 'primary'),
    ('marcy', 'credit_support', '*', 'primary')
ON CONFLICT DO NOTHING;
