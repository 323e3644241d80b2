"""importlib's per-module lock (_ModuleLock) a thread waits on: the module's name and the
owner's thread ident, through the CPython reader's public API
(`PythonProcess.module_lock_of`, docs/DESIGN.md §3). Reads memory only; anything it
cannot read gives None (the analysis then says less, never fails)."""


def module_lock_of(proc, thread_ident):
    """-> (module name or None, owner ident or None) of the _ModuleLock the thread with
    `thread_ident` waits on, or None when it waits on none."""
    if proc is None or thread_ident is None:
        return None
    try:
        ml = proc.module_lock_of(thread_ident)
    except Exception:  # an API we cannot use: say less, do not fail
        return None
    if ml is None or not ml.waiting:
        return None
    return ml.module, ml.owner_ident
