"""Shared fixtures: the shipped articles loaded once per test database, and a helper
that writes source files for importer tests."""

import textwrap

import pytest
from django.conf import settings

from conditions.importer import import_content


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load ``content/`` once; each test runs in a transaction rolled back afterwards."""
    with django_db_blocker.unblock():
        report = import_content([settings.HEALTHLIB_CONTENT_DIR])
        assert not report.errors, [str(error) for error in report.errors]


SECTIONS_BODY = """\
## Overview

### What is {title}?

{title} is a test condition. It links to [[bone-marrow-edema]].

## Key Points

- It is only a test.
"""


def source_text(stem, *, title=None, body=None, **front):
    title = title or stem.replace("-", " ").title()
    meta = {"title": title, "slug": stem, "summary": f"A short summary of {title}.", "status": "published", **front}
    lines = ["---"] + [f"{key}: {value}" for key, value in meta.items() if value is not None] + ["---", ""]
    return "\n".join(lines) + (textwrap.dedent(body) if body is not None else SECTIONS_BODY.format(title=title))


@pytest.fixture
def write_source(tmp_path):
    """Write ``<slug>.md`` (or raw bytes) into a temporary content folder; return its path."""

    def write(stem, raw=None, name=None, **kwargs):
        path = tmp_path / (name or f"{stem}.md")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(raw if raw is not None else source_text(stem, **kwargs).encode())
        return path

    return write
