"""Strings read from the process are data: escape them for the terminal.

term() follows forkwatch's one escaping rule, shared with the command's C side
(cli/text_escape.c, where the rule is spelled out) and checked against one table,
tests/escape_table.json, that both must reproduce:
  - bytes are decoded as strict UTF-8 (Python's own decoder: no overlong forms, no
    surrogates, nothing past U+10FFFF); each byte outside a valid sequence becomes \\xNN;
  - \\ and " are backslashed (names are printed inside double quotes);
  - C0 controls and DEL become \\xNN;
  - C1 controls (U+0080-009F), bidi marks/embeddings/overrides/isolates, U+2028/2029 and
    the BOM become \\uNNNN, and so does a lone surrogate in a str (it has no UTF-8 form);
  - everything else is kept.
"""

# Invisible characters that change how a line reads (besides C1 controls); the same set as
# invisible() in cli/text_escape.c.
_INVISIBLE = frozenset((0x200E, 0x200F, 0x2028, 0x2029, 0x202A, 0x202B, 0x202C, 0x202D,
                        0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0xFEFF))


def to_text(value):
    """bytes or str -> str, invalid UTF-8 kept as \\xNN escapes later."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return str(value)


def term(value):
    """Safe for a terminal: control characters, quotes' escapes and invalid
    bytes shown as \\xNN / \\uNNNN; never a raw ESC."""
    if value is None:
        return "?"
    s = to_text(value)
    out = []
    for ch in s:
        o = ord(ch)
        if 0xDC80 <= o <= 0xDCFF:       # undecodable byte (surrogateescape)
            out.append("\\x%02x" % (o - 0xDC00))
        elif 0xD800 <= o <= 0xDFFF:     # a lone surrogate in a str: not printable
            out.append("\\u%04x" % o)
        elif ch == "\\" or ch == '"':
            out.append("\\" + ch)
        elif o < 0x20 or o == 0x7F:
            out.append("\\x%02x" % o)
        elif 0x80 <= o < 0xA0 or o in _INVISIBLE:
            out.append("\\u%04x" % o)
        else:
            out.append(ch)
    return "".join(out)


def json_str(value):
    """A str safe to hand to json.dumps (which escapes controls and quotes):
    undecodable bytes become U+00XX-style escapes rather than lone surrogates."""
    if value is None:
        return None
    s = to_text(value)
    if any(0xDC80 <= ord(c) <= 0xDCFF for c in s):
        # an invalid byte 0xNN becomes U+00NN, written by json.dumps as \u00NN
        s = "".join(chr(ord(c) - 0xDC00) if 0xDC80 <= ord(c) <= 0xDCFF else c for c in s)
    return s
