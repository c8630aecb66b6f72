"""Households: finding them by what a customer tells the desk."""

from clerkdesk.models import Household

from .errors import NotFound
from .permissions import require_signed_in
from .session import StaffSession
from .validation import clean_text


def household_id_for_client(actor: StaffSession, client_id: str) -> int:
    require_signed_in(actor)
    client_id = clean_text("client ID", client_id, max_length=40, required=True)
    household = Household.get_or_none(Household.client_id == client_id)
    if household is None:
        raise NotFound(f"There is no household with client ID “{client_id}”.")
    return household.id
