from domain.order.models import account_of_order, order_workflow_id


def test_an_order_id_names_its_account_even_when_the_po_has_dashes():
    assert account_of_order(order_workflow_id("401693", "PO-7-A")) == "401693"


def test_another_workflow_id_names_no_account():
    assert account_of_order("open-order-SO1") is None
    assert account_of_order("csr-401693-1") is None
