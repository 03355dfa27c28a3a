from typing import Literal

ListCustomerGroupCustomersCountonly = Literal[0, 1]

LIST_CUSTOMER_GROUP_CUSTOMERS_COUNTONLY_VALUES: set[ListCustomerGroupCustomersCountonly] = {
    0,
    1,
}


def check_list_customer_group_customers_countonly(value: int) -> ListCustomerGroupCustomersCountonly:
    if value in LIST_CUSTOMER_GROUP_CUSTOMERS_COUNTONLY_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {LIST_CUSTOMER_GROUP_CUSTOMERS_COUNTONLY_VALUES!r}")
