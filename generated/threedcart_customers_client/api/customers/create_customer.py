from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.customer_create import CustomerCreate
from ...models.error import Error
from ...models.write_result import WriteResult
from ...types import Response, UnreadableResponse, parse_json, status_of


def _get_kwargs(
    *,
    body: CustomerCreate,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/3dCartWebAPI/v1/Customers",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> list[Error] | list[WriteResult] | None:
    if response.status_code == 201:
        if not response.content.strip():
            return None
        response_201 = []
        _response_201 = parse_json(response.content)
        for componentsschemas_write_result_list_item_data in _response_201:
            componentsschemas_write_result_list_item = WriteResult.from_dict(
                componentsschemas_write_result_list_item_data
            )

            response_201.append(componentsschemas_write_result_list_item)

        return response_201

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
    if response.status_code == 415:
        try:
            if not response.content.strip():
                return None
            response_415 = []
            _response_415 = parse_json(response.content)
            for componentsschemas_error_list_item_data in _response_415:
                componentsschemas_error_list_item = Error.from_dict(componentsschemas_error_list_item_data)

                response_415.append(componentsschemas_error_list_item)

            return response_415

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
) -> Response[list[Error] | list[WriteResult]]:
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
    *,
    client: AuthenticatedClient,
    body: CustomerCreate,
) -> Response[list[Error] | list[WriteResult]]:
    """Create a customer

     Creates a new customer record. The store assigns the CustomerID (a
    CustomerID in the body is ignored) and answers 201 with a write result whose
    `Value` is the new id. The reference marks `Email` and `Password` as
    required; an empty `Password` is accepted.

    Args:
        body (CustomerCreate): A customer to create. `Email` and `Password` are required (an empty
            `Password` is accepted; a null `Email` is refused with 400); the CustomerID is assigned by
            the store, so the body has none (the service ignores one sent).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[list[Error] | list[WriteResult]]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: CustomerCreate,
) -> list[Error] | list[WriteResult] | None:
    """Create a customer

     Creates a new customer record. The store assigns the CustomerID (a
    CustomerID in the body is ignored) and answers 201 with a write result whose
    `Value` is the new id. The reference marks `Email` and `Password` as
    required; an empty `Password` is accepted.

    Args:
        body (CustomerCreate): A customer to create. `Email` and `Password` are required (an empty
            `Password` is accepted; a null `Email` is refused with 400); the CustomerID is assigned by
            the store, so the body has none (the service ignores one sent).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        list[Error] | list[WriteResult]
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: CustomerCreate,
) -> Response[list[Error] | list[WriteResult]]:
    """Create a customer

     Creates a new customer record. The store assigns the CustomerID (a
    CustomerID in the body is ignored) and answers 201 with a write result whose
    `Value` is the new id. The reference marks `Email` and `Password` as
    required; an empty `Password` is accepted.

    Args:
        body (CustomerCreate): A customer to create. `Email` and `Password` are required (an empty
            `Password` is accepted; a null `Email` is refused with 400); the CustomerID is assigned by
            the store, so the body has none (the service ignores one sent).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[list[Error] | list[WriteResult]]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: CustomerCreate,
) -> list[Error] | list[WriteResult] | None:
    """Create a customer

     Creates a new customer record. The store assigns the CustomerID (a
    CustomerID in the body is ignored) and answers 201 with a write result whose
    `Value` is the new id. The reference marks `Email` and `Password` as
    required; an empty `Password` is accepted.

    Args:
        body (CustomerCreate): A customer to create. `Email` and `Password` are required (an empty
            `Password` is accepted; a null `Email` is refused with 400); the CustomerID is assigned by
            the store, so the body has none (the service ignores one sent).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        list[Error] | list[WriteResult]
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
