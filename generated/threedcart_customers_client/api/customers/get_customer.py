from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.customer import Customer
from ...models.error import Error
from ...types import Response, UnreadableResponse, parse_json, status_of


def _get_kwargs(
    id: int,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/3dCartWebAPI/v1/Customers/{id}".format(
            id=quote(str(id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> list[Customer] | list[Error] | None:
    if response.status_code == 200:
        if not response.content.strip():
            return None
        response_200 = []
        _response_200 = parse_json(response.content)
        for componentsschemas_customer_list_item_data in _response_200:
            componentsschemas_customer_list_item = Customer.from_dict(componentsschemas_customer_list_item_data)

            response_200.append(componentsschemas_customer_list_item)

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
) -> Response[list[Customer] | list[Error]]:
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
) -> Response[list[Customer] | list[Error]]:
    """Retrieve a specific customer by id

     Returns an array holding the one customer with this CustomerID.

    Args:
        id (int):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[list[Customer] | list[Error]]
    """

    kwargs = _get_kwargs(
        id=id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    id: int,
    *,
    client: AuthenticatedClient,
) -> list[Customer] | list[Error] | None:
    """Retrieve a specific customer by id

     Returns an array holding the one customer with this CustomerID.

    Args:
        id (int):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        list[Customer] | list[Error]
    """

    return sync_detailed(
        id=id,
        client=client,
    ).parsed


async def asyncio_detailed(
    id: int,
    *,
    client: AuthenticatedClient,
) -> Response[list[Customer] | list[Error]]:
    """Retrieve a specific customer by id

     Returns an array holding the one customer with this CustomerID.

    Args:
        id (int):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[list[Customer] | list[Error]]
    """

    kwargs = _get_kwargs(
        id=id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    id: int,
    *,
    client: AuthenticatedClient,
) -> list[Customer] | list[Error] | None:
    """Retrieve a specific customer by id

     Returns an array holding the one customer with this CustomerID.

    Args:
        id (int):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        list[Customer] | list[Error]
    """

    return (
        await asyncio_detailed(
            id=id,
            client=client,
        )
    ).parsed
