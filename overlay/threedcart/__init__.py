"""threedcart: a Python SDK for the 3dcart (Shift4Shop) REST API v1 Customers resource."""
