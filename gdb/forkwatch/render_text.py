"""Human output: one screen for the common case. Every string from the process goes
through escape.term()."""
from .escape import term


def _pyline(stack):
    if not stack:
        return None
    f = stack[0]
    return "%s (%s:%s)" % (term(f.get("function")), term(f.get("file")), f.get("line") if f.get("line") is not None else "?")


def _is_stdlib(path):
    p = path or ""
    return p.startswith("<frozen") or "/lib/python3" in p or "/lib/python2" in p


def _user_pyline(stack):
    """The first frame outside the standard library, when the innermost is inside it."""
    if not stack or not _is_stdlib(stack[0].get("file")):
        return None
    for f in stack[1:]:
        if not _is_stdlib(f.get("file")):
            return _pyline([f])
    return None


def _native_line(stack, skip_libc=True):
    for f in stack or []:
        mod = f.get("module") or ""
        if f.get("function") and not (skip_libc and ("libc.so" in mod or "libforkwatch" in mod)):
            return "%s in %s" % (term(f.get("function")), term(mod.rsplit("/", 1)[-1]))
    return None


def _thread_label(d):
    return "thread %s \"%s\"" % (d.get("tid") if d.get("tid") is not None else "?", term(d.get("name")) if d.get("name") is not None else "?")


def render(r):
    out = []
    head = "forkwatch: pid %s (%s)%s%s: %s" % (
        r.pid, r.source,
        ", Python %s" % term(r.python.get("version")) if r.python else "",
        ", agent present" if r.agent else "", r.verdict.upper())
    out.append(head)
    for f in r.findings:
        out.append("")
        out.append("[%s] %s" % (f["kind"], term(f["summary"])))
        w = f["waiter"]
        out.append("  waiting : %s" % _thread_label(w))
        pl = _pyline(w.get("python_stack"))
        if pl:
            out.append("            at %s" % pl)
            ul = _user_pyline(w.get("python_stack"))
            if ul:
                out.append("            called from %s" % ul)
        nl = _native_line(w.get("native_stack"))
        if nl and not pl:
            out.append("            in %s" % nl)
        lk = f["lock"]
        desc = f.get("_lock_description")
        ls = "  lock    : %s" % ("the GIL" if lk.get("kind") == "gil" else term(lk.get("kind")))
        if lk.get("address"):
            ls += " at %s" % lk["address"]
        if lk.get("python_type") and lk.get("python_type") != lk.get("kind"):
            ls += " (%s)" % term(lk["python_type"])
        if desc:
            ls += " %s" % term(desc)
        if f.get("_lock_state"):
            ls += " [%s]" % term(f["_lock_state"])
        out.append(ls)
        h = f.get("holder")
        if h:
            alive = "alive" if h.get("alive") else "gone"
            pid = " in pid %s" % h["pid"] if h.get("pid") and not h.get("alive") else ""
            if lk.get("kind") == "thread_pool":
                out.append("  holder  : %s, gone%s (%s)" % (term(h.get("name")), pid, h.get("source")))
                h = None
            elif f.get("_shape") == "condition" and h.get("tid") is None and h.get("name") is None:
                out.append("  holder  : none: the lock is the waiter's own; the thread that would notify it "
                           "was lost in fork()%s" % (" (it ran in the parent, pid %s)" % h["pid"] if h.get("pid") else ""))
                h = None
            elif h.get("tid") is None and h.get("name") is None and not h.get("alive"):
                out.append("  holder  : no thread in this process%s (%s)"
                           % (" (a thread of the parent, pid %s)" % h["pid"] if h.get("pid") else "", h.get("source")))
            else:
                out.append("  holder  : %s, %s%s (%s)" % (_thread_label(h), alive, pid, h.get("source")))
        if h:
            where = f.get("_where")
            hp = _pyline(h.get("python_stack"))
            if hp:
                out.append("            at %s" % hp)
            if where:
                out.append("            took it in %s" % term(where))
            elif not hp:
                if h.get("source") == "agent" or h.get("alive"):
                    nl = _native_line(h.get("native_stack"))
                    out.append("            %s" % (("in " + nl) if nl else "where it took the lock: unknown"))
                else:
                    out.append("            where it took the lock: unknown without the agent")
        if f.get("cycle"):
            out.append("  cycle   : %s" % " -> ".join(str(x) for x in f["cycle"] + f["cycle"][:1]))
        out.append("  advice  : %s" % f["advice"])
        for i, e in enumerate(f.get("evidence") or []):
            out.append("  %s: %s" % ("evidence" if i == 0 else "        ", term(e["text"])))
    if not r.findings:
        out.append("")
        for t in r.threads:
            line = "  %s: %s" % (_thread_label(t), t["state"])
            w = t["_native"].wait
            if w is not None:
                if w.lock_address:
                    lk = t.get("_lock") or {}
                    line += " on %s at 0x%x" % (term(lk.get("kind") or w.kind), w.lock_address)
                    if w.timed:
                        line += " (timed)"
                elif w.detail:
                    line += " (%s)" % term(w.detail)
                elif w.kind:
                    line += " (%s)" % w.kind
            pl = _pyline(t["python_stack"])
            if pl:
                line += " at %s" % pl
                ul = _user_pyline(t["python_stack"])
                if ul:
                    line += " from %s" % ul
            else:
                nl = _native_line(t["native_stack"])
                if nl:
                    line += " in %s" % nl
            out.append(line)
    for n in r.notes:
        out.append("note: %s" % term(n))
    return "\n".join(out)
