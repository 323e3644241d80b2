"""Symbol helpers: addresses of minimal symbols (no DWARF needed), the
function/module of a code address, DWARF types when present."""
import re

import gdb

_pc_cache = {}
_solibs = []      # [list of (from, to, path)] or [] before the first call
_SOLIB_RE = re.compile(r"^(0x[0-9a-fA-F]+)\s+(0x[0-9a-fA-F]+)\s+\S+(?: \(\*\))?\s+(/.*)$")
_INFO_SYMBOL_RE = re.compile(r"^(?P<name>.+?)(?: \+ (?P<off>\d+))? in section (?P<sect>\S+)(?: of (?P<obj>.+))?$")


def reset_caches():
    _pc_cache.clear()
    del _solibs[:]


def shared_libraries():
    """[(text from, text to, path)] of the loaded shared libraries, from `info sharedlibrary`
    (one cheap command; no symbol lookup). Cached until reset_caches()."""
    if _solibs:
        return _solibs[0]
    out = []
    try:
        text = gdb.execute("info sharedlibrary", to_string=True)
    except (gdb.error, RuntimeError):
        text = ""
    for line in text.splitlines():
        m = _SOLIB_RE.match(line.strip())
        if m:
            out.append((int(m.group(1), 16), int(m.group(2), 16), m.group(3).strip()))
    _solibs.append(out)
    return out


def minsym_address(name):
    """Address of a (minimal or full) symbol, or None."""
    for expr in ("(unsigned long)&'%s'" % name, "(unsigned long)&%s" % name):
        try:
            v = gdb.parse_and_eval(expr)
            addr = int(v)
            if addr:
                return addr
        except (gdb.error, RuntimeError, ValueError, OverflowError):
            continue
    return None


def main_executable():
    try:
        return gdb.current_progspace().filename
    except (gdb.error, RuntimeError, AttributeError):
        return None


def module_of(pc):
    try:
        so = gdb.solib_name(pc)
    except (gdb.error, RuntimeError, OverflowError):
        so = None
    return so if so else main_executable()


def function_of(pc):
    """(function name or None, module path or None) for a code address."""
    if pc in _pc_cache:
        return _pc_cache[pc]
    name = None
    try:
        block = gdb.block_for_pc(pc)
        while block is not None and block.function is None:
            block = block.superblock
        if block is not None and block.function is not None:
            name = block.function.print_name
    except (gdb.error, RuntimeError, OverflowError):
        pass
    if name is None:
        try:
            out = gdb.execute("info symbol 0x%x" % pc, to_string=True).strip()
            m = _INFO_SYMBOL_RE.match(out.splitlines()[0]) if out else None
            if m and not out.startswith("No symbol"):
                name = m.group("name")
        except (gdb.error, RuntimeError, IndexError):
            pass
    res = (name, module_of(pc))
    _pc_cache[pc] = res
    return res


def base_name(func):
    """Normalise a function name for matching: strip @VERSION, GCC's clone suffixes
    (run_at_forkers.part.0, f.constprop.3, f.isra.1, f.cold: a C name has no '.') and
    leading '_'."""
    if not func:
        return ""
    f = func.split("@", 1)[0]
    f = f.split("(", 1)[0]
    f = f.split(".", 1)[0]
    return f.lstrip("_")


def lookup_type(name):
    try:
        return gdb.lookup_type(name)
    except (gdb.error, RuntimeError):
        return None
