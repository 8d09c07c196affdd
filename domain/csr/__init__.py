"""Customer Specific Requirement cases (spec/csr.md): the record, its moves and rules."""
