"""Line numbers from a code object's line table, per CPython version.

Pure Python (no gdb): the caller reads the table's bytes and passes them in.
Every function returns an int line number or None; malformed tables give None,
never an exception.
"""


def lnotab_line(lnotab, firstlineno, lasti_bytes):
    """3.8/3.9 co_lnotab: (byte increment, signed line increment) pairs.

    Same walk as PyCode_Addr2Line: the line of the last entry starting at or
    before the byte offset.
    """
    if lasti_bytes < 0:
        return firstlineno
    line = firstlineno
    addr = 0
    for i in range(0, len(lnotab) - 1, 2):
        addr += lnotab[i]
        if addr > lasti_bytes:
            break
        incr = lnotab[i + 1]
        if incr >= 0x80:
            incr -= 0x100
        line += incr
    return line


def linetable310_line(table, firstlineno, lasti_bytes):
    """3.10 co_linetable: (unsigned byte delta, signed line delta; -128 = no line).

    Ranges [start, end) in bytes; the line delta accumulates only when not -128.
    """
    if lasti_bytes < 0:
        return firstlineno
    line = firstlineno
    end = 0
    for i in range(0, len(table) - 1, 2):
        start = end
        end = start + table[i]
        ldelta = table[i + 1]
        if ldelta >= 0x80:
            ldelta -= 0x100
        if ldelta == -128:
            cur = None
        else:
            line += ldelta
            cur = line
        if start <= lasti_bytes < end:
            return cur
    return None


def _varint(table, pos):
    b = table[pos]
    pos += 1
    val = b & 63
    shift = 0
    while b & 64:
        b = table[pos]
        pos += 1
        shift += 6
        val |= (b & 63) << shift
    return val, pos


def _svarint(table, pos):
    val, pos = _varint(table, pos)
    if val & 1:
        return -(val >> 1), pos
    return val >> 1, pos


def locations_line(table, firstlineno, lasti_units):
    """3.11+ co_linetable (the location table); offset in code units (2 bytes).

    Each entry: a first byte 1ccccLLL (code, length-1 in code units), then per code:
    15 no location; 14 long form (svarint line delta, varint end line, col, end col);
    13 no column (svarint line delta); 10-12 one-line form (delta code-10, 2 bytes);
    0-9 short form (delta 0, 1 byte).
    """
    if lasti_units < 0:
        return firstlineno
    line = firstlineno
    addr = 0
    pos = 0
    n = len(table)
    try:
        while pos < n:
            first = table[pos]
            pos += 1
            if not first & 0x80:
                return None  # out of sync: malformed table
            code = (first >> 3) & 15
            length = (first & 7) + 1
            cur = line
            if code == 15:
                cur = None
            elif code == 14:
                delta, pos = _svarint(table, pos)
                line += delta
                cur = line
                _, pos = _varint(table, pos)
                _, pos = _varint(table, pos)
                _, pos = _varint(table, pos)
            elif code == 13:
                delta, pos = _svarint(table, pos)
                line += delta
                cur = line
            elif code >= 10:
                line += code - 10
                cur = line
                pos += 2
            else:
                pos += 1
            if addr <= lasti_units < addr + length:
                return cur
            addr += length
    except IndexError:
        return None
    return None


def line_for(version, table, firstlineno, offset):
    """Dispatch by version (major, minor[, patch]).

    offset: 3.8/3.9 f_lasti (bytes); 3.10 f_lasti (code units); 3.11+ instruction
    index in code units (instr pointer minus the start of the code).
    """
    if table is None:
        return None
    table = bytes(table)
    minor = version[1]
    if minor <= 9:
        return lnotab_line(table, firstlineno, offset)
    if minor == 10:
        return linetable310_line(table, firstlineno, offset * 2 if offset >= 0 else -1)
    return locations_line(table, firstlineno, offset)
