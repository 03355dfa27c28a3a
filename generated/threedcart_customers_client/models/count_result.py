from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="CountResult")


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
        d = dict(src_dict)
        total_count = d.pop("TotalCount")

        count_result = cls(
            total_count=total_count,
        )

        count_result.additional_properties = d
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


PROPERTY_SCHEMAS: dict[str, dict[str, Any]] = {
    "TotalCount": {
        "type": "integer",
        "minimum": 0,
    },
}
"""The schema of each JSON field as the spec states it (type, format, nullable, bounds, lengths)."""
