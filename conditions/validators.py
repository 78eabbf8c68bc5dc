"""Validators shared by the model, the admin and the content importer."""

import re

from django.core.validators import RegexValidator

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

validate_slug = RegexValidator(
    SLUG_RE,
    "Use lowercase letters a–z, digits and single hyphens only (for example “bone-marrow-edema”).",
)
