"""importlib's per-module lock (_ModuleLock) a thread waits on: the module's name and the
owner's thread ident, read from the waiter's innermost frames. Reads memory only.

Uses the CPython reader's walker and object reader (forkwatch.cpython); anything it cannot
read gives None (the analysis then says less, never fails)."""

MAX_FRAMES = 4


def module_lock_of(proc, thread_ident):
    """-> (module name or None, owner ident or None) of the _ModuleLock the thread with
    `thread_ident` waits on, or None when its innermost frames hold no _ModuleLock."""
    if proc is None or thread_ident is None:
        return None
    try:
        reader = proc.reader
        walker = proc.walker
        for t in proc.threads():
            if t.thread_ident != thread_ident:
                continue
            for f, code, _off in walker.raw_frames(t.tstate)[:MAX_FRAMES]:
                for obj in proc._candidates_of_frame(f, code):
                    tname = reader.safe_type_name(obj) or ""
                    if tname.rsplit(".", 1)[-1] != "_ModuleLock":
                        continue
                    name_obj = reader.attr(obj, "name")
                    owner_obj = reader.attr(obj, "owner")
                    name = reader.read_str(name_obj, 200) if name_obj else None
                    owner = reader.read_int(owner_obj) if owner_obj else None
                    return name, (owner & 0xFFFFFFFFFFFFFFFF) if owner else None
    except Exception:  # a layout we cannot read: say less, do not fail
        return None
    return None
