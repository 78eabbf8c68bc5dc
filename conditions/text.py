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

``straight_quotes`` is for what people type rather than what is stored: a phone's curly
quotes and apostrophes (and „…“, «…») mean the same as straight ones in a search and when
names are compared, while article text keeps its typography.
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
    """``clean`` each string of a list of names (also known as), each with its spaces
    collapsed; names left empty are dropped, and so is a name that repeats an earlier one."""
    names = (" ".join(clean(value).split()) for value in values if value)
    return list(dict.fromkeys(name for name in names if name))


QUOTES = {ord(c): '"' for c in "\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033\u301d\u301e\uff02"}
QUOTES.update({ord(c): "'" for c in "\u2018\u2019\u201a\u201b\u2032\u02bc\uff07"})


def straight_quotes(text):
    """``text`` with curly, low and angle quotation marks and apostrophes made straight
    (“bone bruise” → "bone bruise", Cushing’s → Cushing's)."""
    return text.translate(QUOTES) if text else text
