"""The outcome of a bulk update, item by item."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class BulkFailure:
    """One customer the service did not update."""

    index: int
    """Position of the item in the sequence given to `update_many`."""
    customer_id: int
    status: int
    """The item's own status (404 when the customer does not exist; 400 when its batch was refused)."""
    message: str


@dataclass
class BulkResult:
    """What `update_many` did, across all its batches (answers 200, 206 and 404 alike)."""

    updated: list[int] = field(default_factory=list)
    """CustomerIDs the service updated, in the order given."""
    failed: list[BulkFailure] = field(default_factory=list)
    """Items the service did not update, with its message."""
    batches: int = 0

    @property
    def ok(self) -> bool:
        """True when every item was updated."""
        return not self.failed

    def __len__(self) -> int:
        return len(self.updated) + len(self.failed)
