import pytest
from django.core.exceptions import ValidationError

from agents.validators import validate_address
from phlo.addresses import address_key, is_valid_address

GOOD = ["+14155550100", "14155550100", "+442071838750", "sip:alice@example.com", "sip:bob.smith@phone.plivo.com",
        "sip:agent_7@10.0.0.5:5060"]
BAD = ["", " ", "+1", "12 34", "+1 415 555 0100", "0014155550100", "+1415555010O", "../etc/passwd",
       "sip:alice@", "sip:@example.com", "sip:alice@example.com/../x", "sip:al ice@example.com", "tel:+14155550100",
       "+" + "1" * 20, "sip:" + "a" * 200 + "@x.com", "٤١٥٥٥٥٠١٠٠", "+14155550100\n", "sip:alice@exämple.com",
       None, 14155550100]


@pytest.mark.parametrize("address", GOOD)
def test_good_addresses(address):
    assert is_valid_address(address)
    validate_address(address)


@pytest.mark.parametrize("address", BAD)
def test_bad_addresses(address):
    assert not is_valid_address(address)
    with pytest.raises(ValidationError):
        validate_address(address)


def test_a_number_with_or_without_plus_is_one_number():
    assert address_key("+14155550100") == address_key("14155550100")
    assert address_key("sip:Alice@Example.com") == address_key("sip:alice@example.com")
