from __future__ import annotations

from collections.abc import Mapping
from operator import itemgetter
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="Error")

_FIELDS = (
    "Key",
    "Value",
    "Status",
    "Message",
)
"""The JSON names of the fields, in the order of `__init__`'s parameters."""
_FIELD_VALUES = itemgetter(*_FIELDS)
_OPTIONAL_FIELDS: dict[str, Any] = {
    "Key": UNSET,
    "Value": UNSET,
    "Status": UNSET,
    "Message": UNSET,
}
"""UNSET for each optional field, under the values of a dict (`_OPTIONAL_FIELDS | d`)."""
_FIELD_NAMES = frozenset(_FIELDS)


@_attrs_define
class Error:
    """An error, in the write-result shape with `Key` "Error".

    Example:
        {'Key': 'Error', 'Value': '', 'Status': '400', 'Message': 'Offset amount exceeds the total number of records'}

    """

    key: str | Unset = UNSET
    """ `Error`. """
    value: None | str | Unset = UNSET
    """ The offending value or id, when there is one. """
    status: str | Unset = UNSET
    """ The HTTP status, as a string. """
    message: str | Unset = UNSET
    """ What was wrong. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        key = self.key

        value: None | str | Unset
        if isinstance(self.value, Unset):
            value = UNSET
        else:
            value = self.value

        status = self.status

        message = self.message

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if key is not UNSET:
            field_dict["Key"] = key
        if value is not UNSET:
            field_dict["Value"] = value
        if status is not UNSET:
            field_dict["Status"] = status
        if message is not UNSET:
            field_dict["Message"] = message

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
        error = cls(*_FIELD_VALUES(field_values_))
        if len(field_values_) != 4:
            error.additional_properties = {k: v for k, v in d.items() if k not in _FIELD_NAMES}
        return error

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
