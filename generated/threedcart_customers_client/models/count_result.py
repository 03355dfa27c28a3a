from __future__ import annotations

from collections.abc import Mapping
from operator import itemgetter
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="CountResult")

_FIELDS = ("TotalCount",)
"""The JSON names of the fields, in the order of `__init__`'s parameters."""
_FIELD_VALUES = itemgetter(*_FIELDS)
_OPTIONAL_FIELDS: dict[str, Any] = {}
"""UNSET for each optional field, under the values of a dict (`_OPTIONAL_FIELDS | d`)."""
_FIELD_NAMES = frozenset(_FIELDS)


@_attrs_define
class CountResult:
    """The answer to `countonly=1`.

    Example:
        {'TotalCount': 20000}

    """

    total_count: int
    """ Number of records that match the filters. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        total_count = self.total_count

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "TotalCount": total_count,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = src_dict if type(src_dict) is dict else dict(src_dict)
        if len(d) == 1:
            try:  # every field and nothing else: the usual answer
                return cls(_FIELD_VALUES(d))
            except KeyError:
                pass
        field_values_ = _OPTIONAL_FIELDS | d
        count_result = cls(_FIELD_VALUES(field_values_))
        if len(field_values_) != 1:
            count_result.additional_properties = {k: v for k, v in d.items() if k not in _FIELD_NAMES}
        return count_result

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
