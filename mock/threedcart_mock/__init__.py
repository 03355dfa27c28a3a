"""A local, stateful mock of the 3dcart REST API v1 Customers resource."""
