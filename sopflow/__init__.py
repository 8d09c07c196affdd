"""sopflow: customer-service SOPs as durable Temporal workflows."""
