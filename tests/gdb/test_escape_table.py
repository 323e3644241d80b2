"""The one escaping rule: gdb/forkwatch/escape.term() must print every row of
tests/escape_table.json exactly as the C side does (tests/unit/test_escape.c).

Plain Python, no GDB: run as `python3 tests/gdb/test_escape_table.py`, and also inside GDB's
embedded Python by run_gdb_tests.sh, since that is the interpreter term() runs under.
Exit status 0 when every row matches; 1, with the differing rows, otherwise.
"""
import importlib.util
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def load_escape():
    # escape.py by its path: importing the forkwatch package would need GDB's `gdb` module.
    spec = importlib.util.spec_from_file_location(
        "forkwatch_escape", os.path.join(ROOT, "gdb", "forkwatch", "escape.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main():
    escape = load_escape()
    with open(os.path.join(ROOT, "tests", "escape_table.json"), encoding="ascii") as f:
        rows = json.load(f)["rows"]
    failed = 0
    for row in rows:
        got = escape.term(bytes.fromhex(row["in"]))
        if got != row["out"]:
            failed += 1
            print("FAIL %s (%s): got %r, want %r" % (row["why"], row["in"], got, row["out"]))
    # A str (what GDB hands over for a Python string) follows the same rule as its UTF-8 bytes,
    # and a lone surrogate, which has no UTF-8 form, is shown as \uNNNN.
    for row in rows:
        try:
            s = bytes.fromhex(row["in"]).decode("utf-8")
        except UnicodeDecodeError:
            continue
        if escape.term(s) != row["out"]:
            failed += 1
            print("FAIL as a str: %s: got %r, want %r" % (row["why"], escape.term(s), row["out"]))
    if escape.term("a\ud800b") != "a\\ud800b":
        failed += 1
        print("FAIL lone surrogate in a str: %r" % escape.term("a\ud800b"))
    if len(rows) < 30:
        failed += 1
        print("FAIL the table lost rows (%d)" % len(rows))
    print("ESCAPE-TABLE %d rows, %d failed" % (len(rows), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
