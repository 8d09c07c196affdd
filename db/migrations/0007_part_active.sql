-- A part can be retired: a person may not map an order line to an inactive part,
-- and a line that resolves to one is held.
ALTER TABLE parts ADD COLUMN active boolean NOT NULL DEFAULT true;

-- The price-evidence look-ups (reference.find_price_evidence).
CREATE INDEX open_quotes_lookup ON open_quotes (account_number, part_id, uom);
CREATE INDEX processed_invoices_lookup ON processed_invoices (account_number, part_id, uom);
