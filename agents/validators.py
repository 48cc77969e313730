"""Django's form of the address rule in phlo/addresses.py, for models, forms and serializers."""

from django.core.exceptions import ValidationError

from phlo.addresses import ADDRESS_HELP, is_valid_address


def validate_address(value: object) -> None:
    if not is_valid_address(value):
        raise ValidationError(f"Enter a phone number in E.164 digits or a SIP URI: {ADDRESS_HELP}.", code="invalid")
