"""The PunchOut purchase order: its models, validation rules, delivery rules and cXML."""
