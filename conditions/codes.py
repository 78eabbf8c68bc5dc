"""ICD-10-CM diagnosis codes on articles: spelling, validation and the hierarchy.

ICD-10-CM (the US clinical modification of the WHO's ICD-10, kept by CDC's National Center
for Health Statistics) writes a code as a letter, two characters, and after a dot up to
four more: ``M81.0``, ``M17.11``, ``S72.001A``. A code's parent is the code one character
shorter (``M17.11`` → ``M17.1`` → ``M17``, the three-character category; the ICD-10-CM
Official Guidelines for Coding and Reporting, section I.A.2-4), so "the nearest ancestor"
of a code is its longest prefix that is itself a code. Placeholder ``X`` characters
(``T36.0X1A``) make some prefixes non-codes; the fallback simply passes over them.

The code set is the official April 2026 tabular list as shipped by simple-icd-10-cm (a
maintained package that tracks each release). Its own API parses the whole tabular XML on
import (about 2 s and 190 MB per process), too heavy for web workers, so the validation
here reads the package's plain code list instead: one line per chapter, block and code,
codes without their dot (``M810``). Loaded once per process on first use (about 30 ms).

Codes are stored with their dot, upper case (``M81.0``): the form charts show. Lookups are
case- and dot-insensitive (``m810``, ``M81.0``).
"""

import difflib
import functools
import importlib.util
import re
from pathlib import Path

CODE_SYSTEM = "ICD-10-CM"
# HL7's object identifier for ICD-10-CM, as Infobutton requests name the code system
# (HL7 Version 3 Standard: Context-Aware Knowledge Retrieval, URL-Based Implementation Guide).
CODE_SYSTEM_OID = "2.16.840.1.113883.6.90"
# A letter, two characters, then up to four more (after an optional dot): what any code can look like.
WELL_FORMED_RE = re.compile(r"^[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?$")
MAX_LENGTH = 8  # S72.001A


class CodeError(ValueError):
    """A code that is malformed or not in the code set; ``str()`` is the message for the editor."""


def compact(code):
    """``code`` upper case without its dot or surrounding spaces (``' m81.0 '`` → ``'M810'``),
    or ``None`` if it cannot be an ICD-10-CM code."""
    if not isinstance(code, str):
        return None
    code = code.strip().upper()
    if len(code) > MAX_LENGTH + 1 or not WELL_FORMED_RE.match(code):
        return None
    return code.replace(".", "")


def dotted(compact_code):
    """``'M810'`` → ``'M81.0'``; a category (three characters) has no dot."""
    return compact_code if len(compact_code) <= 3 else f"{compact_code[:3]}.{compact_code[3:]}"


def ancestors(compact_code):
    """``compact_code`` and its prefixes down to the category, longest first (``M1711`` →
    ``['M1711', 'M171', 'M17']``): where a lookup falls back to."""
    return [compact_code[:length] for length in range(len(compact_code), 2, -1)]


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")


@functools.cache
def _code_list():
    """``(release, path)`` of the newest code list the package ships (``code-list-April-2026.txt``
    → ``"April 2026"``), found without importing the package (its import parses the tabular XML)."""
    spec = importlib.util.find_spec("simple_icd_10_cm")
    folders = list(spec.submodule_search_locations or []) if spec else []
    found = []
    for path in (path for folder in folders for path in Path(folder, "data").glob("code-list-*.txt")):
        match = re.fullmatch(r"code-list-([A-Za-z]+)-(\d{4})\.txt", path.name)
        if match and match.group(1) in MONTHS:
            found.append(((int(match.group(2)), MONTHS.index(match.group(1))), f"{match.group(1)} {match.group(2)}", path))
    if not found:
        raise RuntimeError("simple-icd-10-cm (the ICD-10-CM code set) is not installed: pip install -e .")
    _, release, path = max(found)
    return release, path


def release():
    """The code set's release, as its file names it: ``"April 2026"``."""
    return _code_list()[0]


@functools.cache
def code_set():
    """Every ICD-10-CM code (categories, subcategories and codes; compact), as a frozenset."""
    lines = _code_list()[1].read_text(encoding="utf-8").split()
    return frozenset(line for line in lines if WELL_FORMED_RE.match(line))


def nearest(compact_code, limit=5):
    """Up to ``limit`` real codes close to ``compact_code`` (dotted): its nearest existing
    ancestor and that ancestor's closest codes, else codes spelt alike."""
    codes = code_set()
    parent = next((prefix for prefix in ancestors(compact_code)[1:] if prefix in codes), None)
    if parent is not None:
        family = sorted(code for code in codes if code.startswith(parent) and len(code) <= len(compact_code))
        close = difflib.get_close_matches(compact_code, family, n=limit - 1, cutoff=0)
        return [dotted(code) for code in dict.fromkeys([parent, *sorted(close)])][:limit]
    same_letter = [code for code in codes if code[0] == compact_code[0] and len(code) <= len(compact_code) + 1]
    return [dotted(code) for code in difflib.get_close_matches(compact_code, same_letter, n=limit, cutoff=0.5)]


def validate(code):
    """The dotted form of ``code`` if it is in the ICD-10-CM code set; else ``CodeError``
    naming it and the nearest valid codes."""
    compacted = compact(code)
    if compacted is None:
        raise CodeError(f"“{code}” is not an ICD-10-CM code: write a letter, two characters and, after a dot, up to four more "
                        "(for example M81.0 or M17).")
    if compacted not in code_set():
        close = nearest(compacted)
        hint = f"; the nearest are {', '.join(close)}" if close else ""
        raise CodeError(f"“{code}” is not in the ICD-10-CM code set ({release()}){hint}.")
    return dotted(compacted)


def validate_all(codes):
    """The dotted forms of ``codes`` (a list of str), each once, in the editor's order; ``CodeError`` for the first bad one."""
    return list(dict.fromkeys(validate(code) for code in codes))
