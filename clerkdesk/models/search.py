"""The household search index: one row per searchable word of a household.

Words are folded to plain lower-case ASCII; a prefix search is a range scan of the
(token, household, kind) index, which both SQLite and PostgreSQL answer in well under a
millisecond. The token column compares byte-wise (PostgreSQL collation "C"), so the range
"smi" <= token < "smj" holds exactly the words that start with "smi".
"""

from peewee import CharField, ForeignKeyField

from .base import BaseModel
from .household import Household

TOKEN_LENGTH = 120


class SearchToken(BaseModel):
    # Indexed with the token below: "does this household have a word starting with ..." is
    # one seek, which is what a search for several words asks per candidate.
    household = ForeignKeyField(Household, backref="search_tokens", on_delete="CASCADE",
                                index=False)
    kind = CharField(max_length=8)  # name, client, phone, email, user
    token = CharField(max_length=TOKEN_LENGTH)

    class Meta:
        indexes = ((("token", "household", "kind"), False), (("household", "token"), False))
