"""Builds forkwatch's platform wheel from a built tree, offline, with Debian's python3-wheel
(`wheel pack` writes the archive and its RECORD from an unpacked wheel directory; PEP 427).

    /usr/bin/python3 packaging/wheel/build_wheel.py --build build [--out DIR]

The wheel holds the Python launcher (packaging/wheel/forkwatch/: a console script `forkwatch`
and `python -m forkwatch`, both exec the native command) and, under forkwatch/_native/, the
command, the agent and the GDB package; the man page goes to the environment's share/man/man1.
Its tag is py3-none-<platform>: the Python code runs on any Python 3, the native parts are this
machine's build (linked against its glibc, libdw, libelf, libjson-c and libunwind; not a manylinux
wheel).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import sysconfig

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.join(TOP, "packaging", "wheel")


def version():
    with open(os.path.join(TOP, "cli", "usage.h"), encoding="utf-8") as f:
        m = re.search(r'^#define FW_VERSION "([^"]+)"$', f.read(), re.M)
    if not m:
        sys.exit("build_wheel: no FW_VERSION in cli/usage.h")
    return m.group(1)


def platform_tag():
    # PEP 425: the platform tag is sysconfig's platform with '-' and '.' as '_'.
    return re.sub(r"[-.]", "_", sysconfig.get_platform())


def copy(src, dst, mode):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copyfile(src, dst)
    os.chmod(dst, mode)


def stage(build, root, ver):
    pkg = os.path.join(root, "forkwatch")
    for name in ("__init__.py", "__main__.py"):
        with open(os.path.join(HERE, "forkwatch", name), encoding="utf-8") as f:
            text = f.read().replace("@VERSION@", ver)
        os.makedirs(pkg, exist_ok=True)
        with open(os.path.join(pkg, name), "w", encoding="utf-8") as f:
            f.write(text)
    native = os.path.join(pkg, "_native")
    copy(os.path.join(build, "forkwatch"), os.path.join(native, "bin", "forkwatch"), 0o755)
    copy(os.path.join(build, "libforkwatch.so"), os.path.join(native, "lib", "libforkwatch.so"), 0o755)
    gdb_src = os.path.join(TOP, "gdb")
    for dirpath, dirnames, filenames in os.walk(gdb_src):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith((".py", ".json")):
                rel = os.path.relpath(os.path.join(dirpath, name), gdb_src)
                copy(os.path.join(dirpath, name), os.path.join(native, "share", "forkwatch", "gdb", rel), 0o644)
    # Strip DWARF as the .deb does; the symbol tables stay (the GDB side finds the agent's
    # forkwatch_registry by its dynamic symbol).
    for rel in (("bin", "forkwatch"), ("lib", "libforkwatch.so")):
        subprocess.run(["strip", "--strip-debug", "--remove-section=.comment", "--remove-section=.note",
                        os.path.join(native, *rel)], check=True)

    data = os.path.join(root, "forkwatch-%s.data" % ver, "data", "share", "man", "man1")
    copy(os.path.join(TOP, "docs", "forkwatch.1"), os.path.join(data, "forkwatch.1"), 0o644)

    info = os.path.join(root, "forkwatch-%s.dist-info" % ver)
    os.makedirs(info)
    with open(os.path.join(TOP, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    with open(os.path.join(info, "METADATA"), "w", encoding="utf-8") as f:
        f.write("Metadata-Version: 2.1\n"
                "Name: forkwatch\n"
                "Version: %s\n"
                "Summary: Finds out why a Python process hangs after fork()\n"
                "License: MIT\n"
                "Classifier: License :: OSI Approved :: MIT License\n"
                "Classifier: Operating System :: POSIX :: Linux\n"
                "Classifier: Programming Language :: Python :: 3\n"
                "Classifier: Topic :: Software Development :: Debuggers\n"
                "Requires-Python: >=3.8\n"
                "Requires-External: gdb\n"
                "Requires-External: libdw\n"
                "Requires-External: libjson-c\n"
                "Description-Content-Type: text/markdown\n"
                "\n%s" % (ver, readme))
    with open(os.path.join(info, "WHEEL"), "w", encoding="utf-8") as f:
        f.write("Wheel-Version: 1.0\n"
                "Generator: forkwatch packaging/wheel/build_wheel.py\n"
                "Root-Is-Purelib: false\n"
                "Tag: py3-none-%s\n" % platform_tag())
    with open(os.path.join(info, "entry_points.txt"), "w", encoding="utf-8") as f:
        f.write("[console_scripts]\nforkwatch = forkwatch.__main__:main\n")
    with open(os.path.join(info, "top_level.txt"), "w", encoding="utf-8") as f:
        f.write("forkwatch\n")
    copy(os.path.join(TOP, "LICENSE"), os.path.join(info, "LICENSE"), 0o644)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build", help="the built tree (forkwatch, libforkwatch.so)")
    ap.add_argument("--out", help="where the .whl goes (default: BUILD)")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    out = os.path.abspath(a.out or a.build)
    for f in ("forkwatch", "libforkwatch.so"):
        if not os.path.isfile(os.path.join(build, f)):
            sys.exit("build_wheel: %s is missing (run make first)" % os.path.join(build, f))
    try:
        import wheel  # noqa: F401  (Debian's python3-wheel)
    except ImportError:
        sys.exit("build_wheel: the wheel module is missing: apt-get install python3-wheel")
    ver = version()
    root = os.path.join(build, "wheel", "forkwatch-%s" % ver)
    shutil.rmtree(os.path.join(build, "wheel"), ignore_errors=True)
    stage(build, root, ver)
    os.makedirs(out, exist_ok=True)
    name = "forkwatch-%s-py3-none-%s.whl" % (ver, platform_tag())
    if os.path.exists(os.path.join(out, name)):
        os.unlink(os.path.join(out, name))
    r = subprocess.run([sys.executable, "-m", "wheel", "pack", "--dest-dir", out, root],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0 or not os.path.isfile(os.path.join(out, name)):
        sys.exit("build_wheel: wheel pack failed:\n" + r.stdout)
    print("build_wheel: %s" % os.path.join(out, name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
