from typing import Literal

ListCustomersCountonly = Literal[0, 1]

LIST_CUSTOMERS_COUNTONLY_VALUES: set[ListCustomersCountonly] = {
    0,
    1,
}


def check_list_customers_countonly(value: int) -> ListCustomersCountonly:
    if value in LIST_CUSTOMERS_COUNTONLY_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {LIST_CUSTOMERS_COUNTONLY_VALUES!r}")
