"""Decoding for with_blocks.py, no memory access (importable outside GDB, for the tests):
the co_exceptiontable format (3.11+, Objects/exception_handling_notes.txt, Lib/dis.py
_parse_exception_table) and the opcodes a `with` block's handler starts with, per minor."""

MAX_CHAIN = 32           # nested handlers followed in one frame
SETUP_FINALLY = 122      # 3.8-3.10 opcode (Lib/opcode.py), the block SETUP_WITH pushes

# The first opcodes of a `with` block's exception handler, per minor (Lib/opcode.py /
# Include/opcode_ids.h of each release; tests/gdb_cpython/test_with_blocks.py checks them
# against dis.opmap of every interpreter the suite runs).
WITH_HANDLER = {
    8: (81,),            # WITH_CLEANUP_START
    9: (49,),            # WITH_EXCEPT_START
    10: (49,),
    11: (35, 49),        # PUSH_EXC_INFO, WITH_EXCEPT_START
    12: (35, 49),
    13: (33, 44),
    14: (32, 43),
    15: (30, 41),
}


def _varint(data, i):
    """(value, next index) of one co_exceptiontable varint (6 bits a byte, bit 6 = more)."""
    if i >= len(data):
        raise ValueError("truncated exception table")
    b = data[i]
    val = b & 63
    i += 1
    while b & 64:
        if i >= len(data):
            raise ValueError("truncated exception table")
        b = data[i]
        val = (val << 6) | (b & 63)
        i += 1
    return val, i


def parse_exception_table(data):
    """[(start, end, target, depth)] in code units (Lib/dis.py _parse_exception_table)."""
    out = []
    i = 0
    while i < len(data) and len(out) < 4096:
        start, i = _varint(data, i)
        size, i = _varint(data, i)
        target, i = _varint(data, i)
        dl, i = _varint(data, i)
        out.append((start, start + size, target, dl >> 1))
    return out


def with_depths(entries, offset, is_with_handler):
    """Stack depths of the `with` blocks enclosing code unit `offset`, innermost first:
    the entry covering `offset`, then the one covering its handler, and so on."""
    out = []
    seen = set()
    for _ in range(MAX_CHAIN):
        hit = None
        for start, end, target, depth in entries:
            if start <= offset < end:
                hit = (target, depth)
                break
        if hit is None or hit[0] in seen:
            break
        target, depth = hit
        seen.add(target)
        if is_with_handler(target) and depth > 0:
            out.append(depth)
        offset = target
    return out
