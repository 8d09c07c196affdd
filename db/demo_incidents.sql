-- Demo IT support for platform outages (issue 7): every contact of a platform is
-- notified when its outage escalates. Safe to load twice.
INSERT INTO people (person_id, name, email, team, region) VALUES
    ('raj.patel', 'Raj Patel', 'raj.patel@example.com', 'Operations support', 'US')
ON CONFLICT DO NOTHING;

INSERT INTO it_support_contacts (platform, person_id) VALUES
    ('sterling_oms', 'raj.patel'),
    ('iseries', 'ivy.shah'),
    ('iseries', 'raj.patel')
ON CONFLICT DO NOTHING;
