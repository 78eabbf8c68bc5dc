"""Validators shared by the model, the admin and the content importer."""

import re

from django.core.validators import RegexValidator

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

validate_slug = RegexValidator(
    SLUG_RE,
    "Use lowercase letters a–z, digits and single hyphens only (for example “bone-marrow-edema”).",
)

# Emergency signs (front matter ``emergency``): short phrases that finish the sentence
# "Call 911 or go to the emergency room if you have: …". A box people read in a hurry
# stays short: a few phrases, each a line on a phone.
EMERGENCY_SIGNS_MAX = 10
EMERGENCY_SIGN_MAX_LENGTH = 120


def emergency_signs_problem(kind, signs):
    """Why ``signs`` (a list of str, already cleaned) cannot be an article of ``kind``'s
    emergency signs: one sentence for the editor, or ``None`` when they can."""
    from .kinds import KINDS

    if not signs:
        return None
    info = KINDS.get(kind)
    if info is not None and not info.is_problem:
        allowed = " and ".join(str(other.label).lower() for other in KINDS.values() if other.is_problem)
        return f"Only {allowed} articles list emergency signs; a {str(info.label).lower()} article has none of its own (remove them)."
    if len(signs) > EMERGENCY_SIGNS_MAX:
        return f"{len(signs)} emergency signs; list at most {EMERGENCY_SIGNS_MAX}, the ones that need care now."
    for sign in signs:
        if len(sign) > EMERGENCY_SIGN_MAX_LENGTH:
            return (f"The emergency sign “{sign[:40]}…” is {len(sign)} characters long; "
                    f"keep each to a short phrase of at most {EMERGENCY_SIGN_MAX_LENGTH}.")
    if len({sign.casefold() for sign in signs}) != len(signs):
        return "The same emergency sign is listed twice."
    return None


MAX_CODES = 20


def codes_problem(kind, values):
    """Why ``values`` (a list of str) cannot be an article of ``kind``'s ICD-10-CM codes:
    one sentence naming a bad code and the nearest valid ones, or ``None`` when they can.
    Codes go with the same kinds as emergency signs: conditions and symptoms."""
    from . import codes
    from .kinds import KINDS

    if not values:
        return None
    info = KINDS.get(kind)
    if info is not None and not info.is_problem:
        return f"Only condition and symptom articles carry ICD-10-CM codes; a {str(info.label).lower()} article has none (remove them)."
    if len(values) > MAX_CODES:
        return f"{len(values)} codes; list at most {MAX_CODES}, the ones a patient's chart would carry for this topic."
    try:
        codes.validate_all(values)
    except codes.CodeError as error:
        return str(error)
    return None
