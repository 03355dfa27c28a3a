from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="WriteResult")


@_attrs_define
class WriteResult:
    """The outcome of one write.

    Example:
        {'Key': 'CustomerID', 'Value': '1234', 'Status': '201', 'Message': 'Created successfully'}

    """

    key: str
    """ The primary key's name (`CustomerID`). """
    value: str
    """ The record's id, as a string. """
    status: str
    """ The HTTP status of this item, as a string (`201`, `200`, `404`, ...). """
    message: str
    """ A human-readable outcome, e.g. "Created successfully". """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        key = self.key

        value = self.value

        status = self.status

        message = self.message

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "Key": key,
                "Value": value,
                "Status": status,
                "Message": message,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        key = d.pop("Key")

        value = d.pop("Value")

        status = d.pop("Status")

        message = d.pop("Message")

        write_result = cls(
            key=key,
            value=value,
            status=status,
            message=message,
        )

        write_result.additional_properties = d
        return write_result

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties


PROPERTY_SCHEMAS: dict[str, dict[str, Any]] = {
    "Key": {
        "type": "string",
    },
    "Value": {
        "type": "string",
    },
    "Status": {
        "type": "string",
    },
    "Message": {
        "type": "string",
    },
}
"""The schema of each JSON field as the spec states it (type, format, nullable, bounds, lengths)."""
