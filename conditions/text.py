"""Text as people paste and type it, made one form before it is stored, indexed or searched.

``clean`` is applied once at each boundary: when a source file is read (``content_format``),
when an article or section is saved (``models``: the admin, the importer and restores all
save through it), when a document is indexed and when a query is analysed (``search``).

- Unicode NFC (canonical composition, Unicode Standard Annex #15): "o" followed by
  U+0308 COMBINING DIAERESIS becomes "ö", so a title pasted in decomposed form matches one
  typed on a keyboard, byte for byte.
- Characters that are invisible and carry no word of their own are removed: U+00AD SOFT
  HYPHEN (word processors insert it to mark break points: "Labyr\\u00adin\\u00adthi\\u00adtis"),
  U+200B ZERO WIDTH SPACE, U+200C/U+200D ZERO WIDTH NON-JOINER/JOINER, U+2060 WORD JOINER and
  U+FEFF (a byte-order mark inside text, left by joining files). They would split or hide
  words from search and from the reading grade.

The standard library's ``unicodedata`` does the normalisation; the removed set is ours.
"""

import unicodedata

INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_REMOVE = {ord(c): None for c in INVISIBLE}


def clean(text):
    """``text`` in NFC without the ``INVISIBLE`` characters (``str`` → ``str``; ``None`` stays)."""
    if not text:
        return text
    return unicodedata.normalize("NFC", text.translate(_REMOVE))


def clean_all(values):
    """``clean`` each string of a list (other lists of names: also known as, redirects)."""
    return [clean(value) for value in values]
