"""Contains all the data models used in inputs/outputs"""

from .count_result import CountResult
from .customer import Customer
from .customer_create import CustomerCreate
from .customer_update import CustomerUpdate
from .customer_update_item import CustomerUpdateItem
from .error import Error
from .list_customer_group_customers_countonly import ListCustomerGroupCustomersCountonly
from .list_customers_countonly import ListCustomersCountonly
from .write_result import WriteResult

__all__ = (
    "CountResult",
    "Customer",
    "CustomerCreate",
    "CustomerUpdate",
    "CustomerUpdateItem",
    "Error",
    "ListCustomerGroupCustomersCountonly",
    "ListCustomersCountonly",
    "WriteResult",
)
