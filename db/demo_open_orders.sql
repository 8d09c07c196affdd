-- Demo stores for open orders (issue 9): three time zones, US holidays. Safe to load twice.

INSERT INTO stores (store_id, name, timezone, opens, evening_starts, closes, business_days, manager_id) VALUES
    ('101', 'Dallas Galleria',  'America/Chicago',  '09:00', '17:00', '21:00', '{0,1,2,3,4}', 'demo-store-manager'),
    ('205', 'Phoenix Camelback','America/Phoenix',  '09:00', '17:00', '21:00', '{0,1,2,3,4}', 'demo-store-manager'),
    ('310', 'Toronto Yorkdale', 'America/Toronto',  '10:00', '17:00', '21:00', '{0,1,2,3,4,5}', 'demo-store-manager')
ON CONFLICT DO NOTHING;

INSERT INTO store_holidays (store_id, day, name)
SELECT s.store_id, h.day, h.name
FROM stores s
CROSS JOIN (VALUES
    (DATE '2026-11-26', 'Thanksgiving'),
    (DATE '2026-12-25', 'Christmas Day'),
    (DATE '2027-01-01', 'New Year''s Day'),
    (DATE '2027-05-31', 'Memorial Day'),
    (DATE '2027-07-05', 'Independence Day (observed)')
) AS h(day, name)
WHERE s.store_id IN ('101', '205')
ON CONFLICT DO NOTHING;

INSERT INTO store_holidays (store_id, day, name) VALUES
    ('310', '2026-12-25', 'Christmas Day'),
    ('310', '2026-12-28', 'Boxing Day (observed)'),
    ('310', '2027-01-01', 'New Year''s Day')
ON CONFLICT DO NOTHING;
