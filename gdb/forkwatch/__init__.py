"""forkwatch GDB package: finds why a process hangs after fork() (reads memory only)."""
