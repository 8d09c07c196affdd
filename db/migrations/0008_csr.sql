-- Customer Specific Requirement cases: approver rules per business unit, case
-- numbers, and the read model's business-unit filter.

-- Who holds each step of a CSR case in a business unit. A step may accept any
-- one of several people; `sales_manager` names who escalations go to.
CREATE TABLE csr_approver_rules (
    business_unit text NOT NULL,
    step          text NOT NULL CHECK (step IN ('pre_approval', 'assessment', 'final_approval',
                                                'implementation', 'sales_manager')),
    person_id     text NOT NULL REFERENCES people,
    PRIMARY KEY (business_unit, step, person_id)
);

-- Case numbers (the workflow id is csr-{number}); a registration sent again
-- with the same Idempotency-Key gets the same case.
CREATE TABLE csr_cases (
    case_number bigserial PRIMARY KEY,
    request_key text UNIQUE,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX workflow_records_csr_business_unit
    ON workflow_records ((view ->> 'business_unit'), updated_at DESC) WHERE kind = 'csr';
