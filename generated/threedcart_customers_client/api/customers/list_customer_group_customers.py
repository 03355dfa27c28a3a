from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.count_result import CountResult
from ...models.customer import Customer
from ...models.error import Error
from ...models.list_customer_group_customers_countonly import ListCustomerGroupCustomersCountonly
from ...types import UNSET, Response, UnreadableResponse, Unset, parse_json, status_of


def _get_kwargs(
    id: int,
    *,
    limit: int | Unset = UNSET,
    offset: int | Unset = UNSET,
    email: str | Unset = UNSET,
    firstname: str | Unset = UNSET,
    lastname: str | Unset = UNSET,
    country: str | Unset = UNSET,
    state: str | Unset = UNSET,
    city: str | Unset = UNSET,
    phone: str | Unset = UNSET,
    countonly: ListCustomerGroupCustomersCountonly | Unset = UNSET,
    lastupdatestart: str | Unset = UNSET,
    lastupdateend: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["limit"] = limit

    params["offset"] = offset

    params["email"] = email

    params["firstname"] = firstname

    params["lastname"] = lastname

    params["country"] = country

    params["state"] = state

    params["city"] = city

    params["phone"] = phone

    json_countonly: int | Unset = UNSET
    if not isinstance(countonly, Unset):
        json_countonly = countonly

    params["countonly"] = json_countonly

    params["lastupdatestart"] = lastupdatestart

    params["lastupdateend"] = lastupdateend

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/3dCartWebAPI/v1/CustomerGroups/{id}/Customers".format(
            id=quote(str(id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CountResult | list[Customer] | list[Error] | None:
    if response.status_code == 200:
        if not response.content.strip():
            return None

        def _parse_response_200(data: object) -> CountResult | list[Customer]:
            try:
                if not isinstance(data, list):
                    raise TypeError()
                response_200_type_0 = []
                _response_200_type_0 = data
                for componentsschemas_customer_list_item_data in _response_200_type_0:
                    componentsschemas_customer_list_item = Customer.from_dict(componentsschemas_customer_list_item_data)

                    response_200_type_0.append(componentsschemas_customer_list_item)

                return response_200_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            response_200_type_1 = CountResult.from_dict(data)

            return response_200_type_1

        response_200 = _parse_response_200(parse_json(response.content))

        return response_200

    if response.status_code == 400:
        try:
            if not response.content.strip():
                return None
            response_400 = []
            _response_400 = parse_json(response.content)
            for componentsschemas_error_list_item_data in _response_400:
                componentsschemas_error_list_item = Error.from_dict(componentsschemas_error_list_item_data)

                response_400.append(componentsschemas_error_list_item)

            return response_400

        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            return None
    if response.status_code == 401:
        try:
            if not response.content.strip():
                return None
            response_401 = []
            _response_401 = parse_json(response.content)
            for componentsschemas_error_list_item_data in _response_401:
                componentsschemas_error_list_item = Error.from_dict(componentsschemas_error_list_item_data)

                response_401.append(componentsschemas_error_list_item)

            return response_401

        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            return None
    if response.status_code == 404:
        try:
            if not response.content.strip():
                return None
            response_404 = []
            _response_404 = parse_json(response.content)
            for componentsschemas_error_list_item_data in _response_404:
                componentsschemas_error_list_item = Error.from_dict(componentsschemas_error_list_item_data)

                response_404.append(componentsschemas_error_list_item)

            return response_404

        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            return None
    if response.status_code == 429:
        try:
            if not response.content.strip():
                return None
            response_429 = []
            _response_429 = parse_json(response.content)
            for componentsschemas_error_list_item_data in _response_429:
                componentsschemas_error_list_item = Error.from_dict(componentsschemas_error_list_item_data)

                response_429.append(componentsschemas_error_list_item)

            return response_429

        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            return None
    if response.status_code == 500:
        try:
            if not response.content.strip():
                return None
            response_500 = []
            _response_500 = parse_json(response.content)
            for componentsschemas_error_list_item_data in _response_500:
                componentsschemas_error_list_item = Error.from_dict(componentsschemas_error_list_item_data)

                response_500.append(componentsschemas_error_list_item)

            return response_500

        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            return None
    if response.status_code == 503:
        try:
            if not response.content.strip():
                return None
            response_503 = []
            _response_503 = parse_json(response.content)
            for componentsschemas_error_list_item_data in _response_503:
                componentsschemas_error_list_item = Error.from_dict(componentsschemas_error_list_item_data)

                response_503.append(componentsschemas_error_list_item)

            return response_503

        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            return None
    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[CountResult | list[Customer] | list[Error]]:
    try:
        parsed = _parse_response(client=client, response=response)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        raise UnreadableResponse(response, exc) from exc
    return Response(
        status_code=status_of(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=parsed,
        http_response=response,
    )


def sync_detailed(
    id: int,
    *,
    client: AuthenticatedClient,
    limit: int | Unset = UNSET,
    offset: int | Unset = UNSET,
    email: str | Unset = UNSET,
    firstname: str | Unset = UNSET,
    lastname: str | Unset = UNSET,
    country: str | Unset = UNSET,
    state: str | Unset = UNSET,
    city: str | Unset = UNSET,
    phone: str | Unset = UNSET,
    countonly: ListCustomerGroupCustomersCountonly | Unset = UNSET,
    lastupdatestart: str | Unset = UNSET,
    lastupdateend: str | Unset = UNSET,
) -> Response[CountResult | list[Customer] | list[Error]]:
    """Retrieve a list of customers from a specific customer group

     Returns one page of the customers of one customer group, with the same
    filters, paging and order as `listCustomers`. A group that does not exist
    or has no matching customer is answered 404.

    Args:
        id (int):
        limit (int | Unset):
        offset (int | Unset):
        email (str | Unset):
        firstname (str | Unset):
        lastname (str | Unset):
        country (str | Unset):
        state (str | Unset):
        city (str | Unset):
        phone (str | Unset):
        countonly (ListCustomerGroupCustomersCountonly | Unset):
        lastupdatestart (str | Unset): A date and time in the store's time zone (US Eastern),
            `MM/DD/YYYY HH:MM:SS`. An empty
            value is the same as leaving the parameter out (the reference's own samples send every
            parameter empty). A value that matches the pattern but is not a calendar date
            (`02/30/2026 10:00:00`) is answered 400.
             Example: 11/28/2026 17:05:00.
        lastupdateend (str | Unset): A date and time in the store's time zone (US Eastern),
            `MM/DD/YYYY HH:MM:SS`. An empty
            value is the same as leaving the parameter out (the reference's own samples send every
            parameter empty). A value that matches the pattern but is not a calendar date
            (`02/30/2026 10:00:00`) is answered 400.
             Example: 11/28/2026 17:05:00.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CountResult | list[Customer] | list[Error]]
    """

    kwargs = _get_kwargs(
        id=id,
        limit=limit,
        offset=offset,
        email=email,
        firstname=firstname,
        lastname=lastname,
        country=country,
        state=state,
        city=city,
        phone=phone,
        countonly=countonly,
        lastupdatestart=lastupdatestart,
        lastupdateend=lastupdateend,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    id: int,
    *,
    client: AuthenticatedClient,
    limit: int | Unset = UNSET,
    offset: int | Unset = UNSET,
    email: str | Unset = UNSET,
    firstname: str | Unset = UNSET,
    lastname: str | Unset = UNSET,
    country: str | Unset = UNSET,
    state: str | Unset = UNSET,
    city: str | Unset = UNSET,
    phone: str | Unset = UNSET,
    countonly: ListCustomerGroupCustomersCountonly | Unset = UNSET,
    lastupdatestart: str | Unset = UNSET,
    lastupdateend: str | Unset = UNSET,
) -> CountResult | list[Customer] | list[Error] | None:
    """Retrieve a list of customers from a specific customer group

     Returns one page of the customers of one customer group, with the same
    filters, paging and order as `listCustomers`. A group that does not exist
    or has no matching customer is answered 404.

    Args:
        id (int):
        limit (int | Unset):
        offset (int | Unset):
        email (str | Unset):
        firstname (str | Unset):
        lastname (str | Unset):
        country (str | Unset):
        state (str | Unset):
        city (str | Unset):
        phone (str | Unset):
        countonly (ListCustomerGroupCustomersCountonly | Unset):
        lastupdatestart (str | Unset): A date and time in the store's time zone (US Eastern),
            `MM/DD/YYYY HH:MM:SS`. An empty
            value is the same as leaving the parameter out (the reference's own samples send every
            parameter empty). A value that matches the pattern but is not a calendar date
            (`02/30/2026 10:00:00`) is answered 400.
             Example: 11/28/2026 17:05:00.
        lastupdateend (str | Unset): A date and time in the store's time zone (US Eastern),
            `MM/DD/YYYY HH:MM:SS`. An empty
            value is the same as leaving the parameter out (the reference's own samples send every
            parameter empty). A value that matches the pattern but is not a calendar date
            (`02/30/2026 10:00:00`) is answered 400.
             Example: 11/28/2026 17:05:00.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CountResult | list[Customer] | list[Error]
    """

    return sync_detailed(
        id=id,
        client=client,
        limit=limit,
        offset=offset,
        email=email,
        firstname=firstname,
        lastname=lastname,
        country=country,
        state=state,
        city=city,
        phone=phone,
        countonly=countonly,
        lastupdatestart=lastupdatestart,
        lastupdateend=lastupdateend,
    ).parsed


async def asyncio_detailed(
    id: int,
    *,
    client: AuthenticatedClient,
    limit: int | Unset = UNSET,
    offset: int | Unset = UNSET,
    email: str | Unset = UNSET,
    firstname: str | Unset = UNSET,
    lastname: str | Unset = UNSET,
    country: str | Unset = UNSET,
    state: str | Unset = UNSET,
    city: str | Unset = UNSET,
    phone: str | Unset = UNSET,
    countonly: ListCustomerGroupCustomersCountonly | Unset = UNSET,
    lastupdatestart: str | Unset = UNSET,
    lastupdateend: str | Unset = UNSET,
) -> Response[CountResult | list[Customer] | list[Error]]:
    """Retrieve a list of customers from a specific customer group

     Returns one page of the customers of one customer group, with the same
    filters, paging and order as `listCustomers`. A group that does not exist
    or has no matching customer is answered 404.

    Args:
        id (int):
        limit (int | Unset):
        offset (int | Unset):
        email (str | Unset):
        firstname (str | Unset):
        lastname (str | Unset):
        country (str | Unset):
        state (str | Unset):
        city (str | Unset):
        phone (str | Unset):
        countonly (ListCustomerGroupCustomersCountonly | Unset):
        lastupdatestart (str | Unset): A date and time in the store's time zone (US Eastern),
            `MM/DD/YYYY HH:MM:SS`. An empty
            value is the same as leaving the parameter out (the reference's own samples send every
            parameter empty). A value that matches the pattern but is not a calendar date
            (`02/30/2026 10:00:00`) is answered 400.
             Example: 11/28/2026 17:05:00.
        lastupdateend (str | Unset): A date and time in the store's time zone (US Eastern),
            `MM/DD/YYYY HH:MM:SS`. An empty
            value is the same as leaving the parameter out (the reference's own samples send every
            parameter empty). A value that matches the pattern but is not a calendar date
            (`02/30/2026 10:00:00`) is answered 400.
             Example: 11/28/2026 17:05:00.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CountResult | list[Customer] | list[Error]]
    """

    kwargs = _get_kwargs(
        id=id,
        limit=limit,
        offset=offset,
        email=email,
        firstname=firstname,
        lastname=lastname,
        country=country,
        state=state,
        city=city,
        phone=phone,
        countonly=countonly,
        lastupdatestart=lastupdatestart,
        lastupdateend=lastupdateend,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    id: int,
    *,
    client: AuthenticatedClient,
    limit: int | Unset = UNSET,
    offset: int | Unset = UNSET,
    email: str | Unset = UNSET,
    firstname: str | Unset = UNSET,
    lastname: str | Unset = UNSET,
    country: str | Unset = UNSET,
    state: str | Unset = UNSET,
    city: str | Unset = UNSET,
    phone: str | Unset = UNSET,
    countonly: ListCustomerGroupCustomersCountonly | Unset = UNSET,
    lastupdatestart: str | Unset = UNSET,
    lastupdateend: str | Unset = UNSET,
) -> CountResult | list[Customer] | list[Error] | None:
    """Retrieve a list of customers from a specific customer group

     Returns one page of the customers of one customer group, with the same
    filters, paging and order as `listCustomers`. A group that does not exist
    or has no matching customer is answered 404.

    Args:
        id (int):
        limit (int | Unset):
        offset (int | Unset):
        email (str | Unset):
        firstname (str | Unset):
        lastname (str | Unset):
        country (str | Unset):
        state (str | Unset):
        city (str | Unset):
        phone (str | Unset):
        countonly (ListCustomerGroupCustomersCountonly | Unset):
        lastupdatestart (str | Unset): A date and time in the store's time zone (US Eastern),
            `MM/DD/YYYY HH:MM:SS`. An empty
            value is the same as leaving the parameter out (the reference's own samples send every
            parameter empty). A value that matches the pattern but is not a calendar date
            (`02/30/2026 10:00:00`) is answered 400.
             Example: 11/28/2026 17:05:00.
        lastupdateend (str | Unset): A date and time in the store's time zone (US Eastern),
            `MM/DD/YYYY HH:MM:SS`. An empty
            value is the same as leaving the parameter out (the reference's own samples send every
            parameter empty). A value that matches the pattern but is not a calendar date
            (`02/30/2026 10:00:00`) is answered 400.
             Example: 11/28/2026 17:05:00.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CountResult | list[Customer] | list[Error]
    """

    return (
        await asyncio_detailed(
            id=id,
            client=client,
            limit=limit,
            offset=offset,
            email=email,
            firstname=firstname,
            lastname=lastname,
            country=country,
            state=state,
            city=city,
            phone=phone,
            countonly=countonly,
            lastupdatestart=lastupdatestart,
            lastupdateend=lastupdateend,
        )
    ).parsed
