"""Who is acting. Services receive it explicitly; it holds no grants (they are read live)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class StaffSession:
    staff_id: int
    username: str
    display_name: str

    @property
    def label(self) -> str:
        return self.display_name or self.username
