"""The advice a finding gives: one table (advice.json, beside this file) keyed by the finding's
shape and the CPython version, so that no advice names an API the interpreter in front of the
user lacks (threading.Lock._at_fork_reinit exists from 3.9 only). The forkwatch command reads
the same file for `forkwatch run`'s summary."""
import json
import os
import re

TABLE_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "advice.json")
_rows = None


def rows():
    global _rows
    if _rows is None:
        with open(TABLE_PATH, "r", encoding="utf-8") as f:
            _rows = json.load(f)["advice"]
    return _rows


def minor_of(version):
    """(3, 11) from '3.11.7', (3, 15) from '3.15.0a1+', or None."""
    m = re.match(r"(\d+)\.(\d+)", version or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def _bound(text):
    return tuple(int(x) for x in text.split(".")) if text else None


def covers(row, minor):
    """True when row applies to CPython minor (a (major, minor) tuple, or None: unknown)."""
    lo, hi = (row.get("python") or [None, None])
    lo, hi = _bound(lo), _bound(hi)
    if minor is None:
        # unknown interpreter: only rows that hold for every version, or the newest one
        return hi is None
    return (lo is None or minor >= lo) and (hi is None or minor <= hi)


def text(key, python_version=None, **params):
    """The advice for `key` that fits `python_version` ('3.8.18'; None when unknown)."""
    minor = minor_of(python_version)
    for row in rows():
        if row["key"] == key and covers(row, minor):
            return row["text"].format(**params) if params else row["text"]
    raise KeyError("no advice %r for Python %s" % (key, python_version))
