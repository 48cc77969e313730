"""Ids in URL paths: `<id:call_id>` matches 1 to 2**63 - 1, the range of the database's ids
(a signed 64-bit integer on SQLite and PostgreSQL alike), and nothing else.

An id outside it matches no route, so it is the JSON 404 of an id that names nothing (docs/reliability.md:
never a 500). Django's `<int:…>` matches any digits, and a number the database cannot hold made
some lookups fail (`OverflowError` on SQLite, a data error on PostgreSQL) before they could say
"no such row". Importing this module registers the converter; the schema documents it as an
integer with those bounds (SPECTACULAR_SETTINGS' PATH_CONVERTER_OVERRIDES in the settings).
"""

from django.urls import register_converter

MAX_ID = 2**63 - 1


class IdConverter:
    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 0 < number <= MAX_ID:
            raise ValueError(f"{value} is not an id")  # Django: this route does not match
        return number

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")
