"""Reading CPython objects through a layout table: types, str, bytes, int, tuple,
dict, module and instance attributes.  Every read is bounded; a garbage pointer
gives MemError (or None from the safe helpers), never a crash.
"""
import string

from . import _mem
from ._mem import MemError

MAX_STR = 1024
MAX_DICT = 1 << 16
MAX_TYPE_NAME = 128
_NAME_OK = set((string.ascii_letters + string.digits + "_.-<> ").encode())

# tp_flags bits
TPFLAGS_INLINE_VALUES = 1 << 2   # 3.13
TPFLAGS_MANAGED_DICT = 1 << 4    # 3.11+
TPFLAGS_HEAPTYPE = 1 << 9


def plausible_pointer(p):
    return 4096 <= p < (1 << 47) and p % 8 == 0


class Reader:
    def __init__(self, version, lay):
        self.version = version  # (3, minor, patch)
        self.minor = version[1]
        self.lay = lay
        self._type_names = {}

    def off(self, key):
        return self.lay[key]

    def has(self, key):
        return key in self.lay

    # -- types ---------------------------------------------------------
    def type_of(self, obj):
        return _mem.ptr(obj + self.lay["object.ob_type"])

    def type_name_of_type(self, tp):
        name = self._type_names.get(tp)
        if name is None:
            raw = _mem.cstring(_mem.ptr(tp + self.lay["type.tp_name"]), MAX_TYPE_NAME)
            if not raw or not all(c in _NAME_OK for c in raw):
                raise MemError("not a type name")
            name = raw.decode("ascii")
            self._type_names[tp] = name
        return name

    def type_name(self, obj):
        """tp_name of obj's type; MemError if obj does not look like an object."""
        if not plausible_pointer(obj):
            raise MemError("not a pointer")
        tp = self.type_of(obj)
        if not plausible_pointer(tp):
            raise MemError("bad ob_type")
        return self.type_name_of_type(tp)

    def safe_type_name(self, obj):
        try:
            return self.type_name(obj)
        except MemError:
            return None

    # -- scalars -------------------------------------------------------
    def read_str(self, obj, limit=MAX_STR):
        """A str object's text (at most `limit` characters), or None."""
        try:
            if self.type_name(obj) != "str":
                return None
            state = _mem.u32(obj + self.lay["unicode.state"])
            kind = (state >> self.lay["unicode.kind.bit"]) & ((1 << self.lay["unicode.kind.bits"]) - 1)
            compact = (state >> self.lay["unicode.compact.bit"]) & 1
            ascii_ = (state >> self.lay["unicode.ascii.bit"]) & 1
            length = _mem.i64(obj + self.lay["unicode.length"])
            if kind not in (1, 2, 4) or length < 0:
                return None
            if compact:
                data = obj + (self.lay["sizeof.PyASCIIObject"] if ascii_
                              else self.lay["sizeof.PyCompactUnicodeObject"])
            else:  # legacy string: PyUnicodeObject.data.any follows the compact part
                data = _mem.ptr(obj + self.lay["sizeof.PyCompactUnicodeObject"])
            n = min(length, limit)
            raw = _mem.read(data, n * kind)
            enc = {1: "latin-1", 2: "utf-16-le", 4: "utf-32-le"}[kind]
            return raw.decode(enc, errors="replace")
        except MemError:
            return None

    def read_bytes(self, obj, limit=1 << 20):
        try:
            if self.type_name(obj) != "bytes":
                return None
            size = _mem.i64(obj + self.lay["varobject.ob_size"])
            if size < 0 or size > limit:
                return None
            return _mem.read(obj + self.lay["bytes.ob_sval"], size)
        except MemError:
            return None

    def read_int(self, obj):
        """A Python int (unbounded digits capped at 8 of them), or None."""
        try:
            if self.type_name(obj) not in ("int", "bool"):
                return None
            if "long.lv_tag" in self.lay:
                tag = _mem.u64(obj + self.lay["long.lv_tag"])
                ndigits = tag >> 3
                sign = 1 - (tag & 3)
            else:
                size = _mem.i64(obj + self.lay["varobject.ob_size"])
                ndigits = abs(size)
                sign = -1 if size < 0 else 1
            if ndigits > 8:
                return None
            raw = _mem.read(obj + self.lay["long.ob_digit"], 4 * ndigits)
            val = 0
            for i in reversed(range(ndigits)):
                val = (val << 30) | (int.from_bytes(raw[4 * i:4 * i + 4], "little") & 0x3FFFFFFF)
            return sign * val
        except MemError:
            return None

    def tuple_items(self, obj, limit=4096):
        if self.type_name(obj) != "tuple":
            return []
        size = _mem.i64(obj + self.lay["varobject.ob_size"])
        if size < 0 or size > limit:
            return []
        raw = _mem.read(obj + self.lay["tuple.ob_item"], 8 * size) if size else b""
        return [int.from_bytes(raw[8 * i:8 * i + 8], "little") for i in range(size)]

    # -- sets and weak references -------------------------------------
    # PySetObject {PyObject_HEAD; fill; used; mask; setentry *table; ...} and setentry {key,
    # hash}, PyWeakReference {PyObject_HEAD; wr_object; ...}: the same offsets in 3.8-3.15
    # (Include/cpython/setobject.h, Include/cpython/weakrefobject.h; checked with ptype /o on
    # the pyenv 3.8/3.13 and Debian 3.14/3.15 builds). The free-threaded build is refused earlier.
    SET_MASK, SET_TABLE, SETENTRY_SIZE, WEAKREF_OBJECT = 32, 40, 16, 16

    def set_items(self, obj, limit=4096):
        """The keys of a set (live entries only: NULL and the dummy are skipped by the caller's
        type checks), [] when unreadable or larger than `limit`."""
        if self.safe_type_name(obj) != "set":
            return []
        mask = _mem.i64(obj + self.SET_MASK)
        if mask < 0 or mask + 1 > 4 * limit:
            return []
        table = _mem.ptr(obj + self.SET_TABLE)
        raw = _mem.read(table, (mask + 1) * self.SETENTRY_SIZE)
        keys = [int.from_bytes(raw[i:i + 8], "little") for i in range(0, len(raw), self.SETENTRY_SIZE)]
        return [k for k in keys if k and plausible_pointer(k)][:limit]

    def weakref_target(self, ref):
        """The object a weak reference points to (None when it died or is not a weakref)."""
        name = self.safe_type_name(ref) or ""
        if "weakref" not in name and "ReferenceType" not in name:
            return None
        target = _mem.ptr(ref + self.WEAKREF_OBJECT)
        return target if plausible_pointer(target) else None

    # -- dicts ---------------------------------------------------------
    def _keys_entries(self, keys):
        """[(key, value_or_None, index)] for a PyDictKeysObject (value None in split tables)."""
        lay = self.lay
        nentries = _mem.i64(keys + lay["dictkeys.dk_nentries"])
        if nentries < 0 or nentries > MAX_DICT:
            raise MemError("bad dk_nentries")
        indices = keys + lay["dictkeys.dk_indices"]
        if "dictkeys.dk_size" in lay:  # 3.8-3.10
            size = _mem.i64(keys + lay["dictkeys.dk_size"])
            if size <= 0 or size > (1 << 24):
                raise MemError("bad dk_size")
            isz = 1 if size <= 0xFF else 2 if size <= 0xFFFF else 4 if size <= 0xFFFFFFFF else 8
            entries = indices + size * isz
            esize = lay["sizeof.PyDictKeyEntry"]
            unicode_kind = False
        else:
            log2_index_bytes = _mem.u8(keys + lay["dictkeys.dk_log2_index_bytes"])
            kind = _mem.u8(keys + lay["dictkeys.dk_kind"])
            if log2_index_bytes > 40:
                raise MemError("bad dk_log2_index_bytes")
            entries = indices + (1 << log2_index_bytes)
            unicode_kind = kind != 0  # DICT_KEYS_UNICODE / SPLIT
            esize = lay["sizeof.PyDictUnicodeEntry"] if unicode_kind else lay["sizeof.PyDictKeyEntry"]
        out = []
        if nentries == 0:
            return out
        raw = _mem.read(entries, esize * nentries)
        for i in range(nentries):
            e = raw[esize * i:esize * (i + 1)]
            if unicode_kind:
                key = int.from_bytes(e[0:8], "little")
                val = int.from_bytes(e[8:16], "little")
            else:
                key = int.from_bytes(e[8:16], "little")
                val = int.from_bytes(e[16:24], "little")
            if key:
                out.append((key, val, i))
        return out

    def _values_array(self, values):
        return values + self.lay.get("dictvalues.values", 0)

    def _split_items(self, keys, values):
        out = []
        arr = self._values_array(values)
        for key, _val, i in self._keys_entries(keys):
            v = _mem.ptr(arr + 8 * i)
            if v:
                out.append((key, v))
        return out

    def dict_items(self, obj):
        """[(key_addr, value_addr)] of a dict (combined or split table)."""
        try:
            if self.type_name(obj) is None:
                return []
            keys = _mem.ptr(obj + self.lay["dict.ma_keys"])
            values = _mem.ptr(obj + self.lay["dict.ma_values"])
            if values:
                return self._split_items(keys, values)
            return [(k, v) for k, v, _i in self._keys_entries(keys) if v]
        except MemError:
            return []

    def dict_get_str(self, obj, name):
        for k, v in self.dict_items(obj):
            if self.read_str(k, 256) == name:
                return v
        return None

    # -- attributes ----------------------------------------------------
    def instance_attrs(self, obj):
        """[(name_addr, value_addr)] of obj's __dict__ / inline values, one level."""
        try:
            tp = self.type_of(obj)
            flags = _mem.u64(tp + self.lay["type.tp_flags"])
            if self.minor >= 11 and flags & TPFLAGS_MANAGED_DICT:
                slot = obj - 3 * 8
                if self.minor == 11:
                    d = _mem.ptr(slot)
                    if d:
                        return self.dict_items(d)
                    values = _mem.ptr(obj - 4 * 8)
                    if values:
                        return self._cached_keys_items(tp, values)
                    return []
                if self.minor == 12:
                    dv = _mem.ptr(slot)
                    if dv & 1:
                        return self._cached_keys_items(tp, dv + 1)  # stored as values - 1
                    return self.dict_items(dv) if dv else []
                # 3.13+
                d = _mem.ptr(slot)
                if d:
                    return self.dict_items(d)
                if flags & TPFLAGS_INLINE_VALUES:
                    basic = _mem.i64(tp + self.lay["type.tp_basicsize"])
                    if 0 < basic < 65536:
                        values = obj + basic
                        if _mem.u8(values + 3):  # valid
                            return self._cached_keys_items(tp, values)
                return []
            dictoffset = _mem.i64(tp + self.lay["type.tp_dictoffset"])
            if dictoffset <= 0 or dictoffset > 65536:
                return []  # negative offsets (var-sized objects) are not needed here
            d = _mem.ptr(obj + dictoffset)
            return self.dict_items(d) if d else []
        except MemError:
            return []

    def _cached_keys_items(self, tp, values):
        keys = _mem.ptr(tp + self.lay["heaptype.ht_cached_keys"])
        if not keys:
            return []
        return self._split_items(keys, values)

    def attr(self, obj, name):
        for k, v in self.instance_attrs(obj):
            if self.read_str(k, 256) == name:
                return v
        return None

    def module_dict(self, modules_dict, name):
        mod = self.dict_get_str(modules_dict, name)
        if not mod:
            return None
        try:
            return _mem.ptr(mod + self.lay["module.md_dict"])
        except MemError:
            return None
