"""Mainland mobile numbers: parsed, normalised to E.164, masked for display."""

import phonenumbers
from flask import g
from phonenumbers import NumberParseException, PhoneNumberType


class InvalidPhone(ValueError):
    pass


def normalise_phone(raw):
    """'138 1234 5678', '+86 13812345678', '8613812345678' → '+8613812345678'."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidPhone("empty")
    text = raw.strip().replace(" ", "").replace("-", "")
    if text.startswith("86") and len(text) == 13:
        text = "+" + text
    try:
        number = phonenumbers.parse(text, "CN")
    except NumberParseException:
        raise InvalidPhone(raw) from None
    if number.country_code != 86 or not phonenumbers.is_valid_number(number):
        raise InvalidPhone(raw)
    if phonenumbers.number_type(number) not in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise InvalidPhone(raw)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def national(phone):
    return phone[3:] if phone and phone.startswith("+86") else phone


def mask(phone):
    """'+8613812341234' → '138****1234'."""
    n = national(phone)
    if not n or len(n) < 7:
        return "****"
    return n[:3] + "****" + n[-4:]


def phone_for_viewer(phone, owner_id):
    """The full number for its owner and for admins, masked for everyone else."""
    viewer = getattr(g, "current_user", None)
    if viewer is not None and (viewer.id == owner_id or is_admin(viewer)):
        return national(phone)
    return mask(phone)


def is_admin(user):
    return any(m.role == "admin" for m in user.memberships)
