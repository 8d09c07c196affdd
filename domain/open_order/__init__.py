"""The open sales order (spec/open-order.md): models, rules, state."""
