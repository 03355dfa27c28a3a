from __future__ import annotations

from collections.abc import Mapping
from operator import itemgetter
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="WriteResult")

_FIELDS = (
    "Key",
    "Value",
    "Status",
    "Message",
)
"""The JSON names of the fields, in the order of `__init__`'s parameters."""
_FIELD_VALUES = itemgetter(*_FIELDS)
_OPTIONAL_FIELDS: dict[str, Any] = {}
"""UNSET for each optional field, under the values of a dict (`_OPTIONAL_FIELDS | d`)."""
_FIELD_NAMES = frozenset(_FIELDS)


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
        d = src_dict if type(src_dict) is dict else dict(src_dict)
        if len(d) == 4:
            try:  # every field and nothing else: the usual answer
                return cls(*_FIELD_VALUES(d))
            except KeyError:
                pass
        field_values_ = _OPTIONAL_FIELDS | d
        write_result = cls(*_FIELD_VALUES(field_values_))
        if len(field_values_) != 4:
            write_result.additional_properties = {k: v for k, v in d.items() if k not in _FIELD_NAMES}
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
