/*
 * usage.c — help texts. Kept in one place so that `--help`, `help VERB` and
 * the usage line printed on a usage error never drift apart.
 */
#include "usage.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct verb_help {
    const char *verb;
    const char *usage;
    const char *details;
};

static const struct verb_help verbs[] = {
    {"run",
     "forkwatch run [--report FILE] [--on-deadlock abort|warn|off] [--fail-on-hazard] [--quiet] "
     "[--hang-timeout SECONDS|none] [--grace SECONDS|none] [--label TEXT] [--junit FILE] [--verbose] -- CMD [ARGS...]",
     "Runs CMD with the forkwatch agent preloaded (it and all its descendants), watches\n"
     "every process of its tree for hangs, then symbolises the report and prints a summary\n"
     "of fork deadlocks and hazards.\n"
     "  --report FILE        JSON Lines report (default: in a fresh private temp dir, kept only\n"
     "                       when something was recorded)\n"
     "  --on-deadlock MODE   abort (default: the child exits 86; a hung process the watchdog\n"
     "                       diagnosed is ended), warn (report, then block / leave it), off (no\n"
     "                       report, no watchdog, no grace)\n"
     "  --fail-on-hazard     exit 87 when a fork hazard (try/timed acquire of an orphan) was seen\n"
     "  --quiet              no report from the agent on stderr; summary only when something was found\n"
     "  --hang-timeout S     a process none of whose threads made progress for S seconds (all in\n"
     "                       futex/poll/epoll/select/sleep waits, no CPU used) is analysed as\n"
     "                       `forkwatch attach` would; a finding is reported (default 10; none: off)\n"
     "  --grace S            S seconds after the first deadlock was recorded, end the command's\n"
     "                       process tree if it still runs, say where each process waited, exit 86\n"
     "                       (default 10; none: wait for the command however long)\n"
     "  --label TEXT         carried by every event and named in the summary (pytest's\n"
     "                       PYTEST_CURRENT_TEST of the forking process is carried too)\n"
     "  --junit FILE         JUnit XML: one failed testcase per deadlock\n"
     "  --verbose            say what the watchdog analyses and why\n"
     "With GITHUB_ACTIONS=true, one ::error annotation per deadlock on stdout.\n"
     "Exit: CMD's status (128+N if killed by signal N); 86 a fork deadlock was recorded, a hang\n"
     "was diagnosed, or the tree was ended after --grace; 87 a hazard with --fail-on-hazard;\n"
     "2 usage; 3 forkwatch's own error; 127 CMD not found.\n"},
    {"attach",
     "forkwatch attach PID [--json] [--tree] [--timeout SECONDS] [--verbose]",
     "Attaches GDB to a (hung) process, reads its threads, locks, CPython state and the\n"
     "agent's records if present, and prints a verdict. The process is left running.\n"
     "  --json         one JSON object (schema forkwatch/1) on stdout\n"
     "  --tree         also the process's fork children (JSON: a list, one object per process)\n"
     "  --timeout S    give up after S seconds (default 120)\n"
     "  --verbose      show GDB's own messages\n"
     "Exit: 0 no deadlock found; 1 a finding; 2 usage; 3 could not analyse.\n"},
    {"core",
     "forkwatch core COREFILE... [--exe PATH] [--json] [--timeout SECONDS] [--verbose]",
     "Reads a core file with GDB and prints the same verdict as attach. Several cores of one\n"
     "job (a parent's and its fork children's) are read together: a child's holder is then\n"
     "named from its parent's core (JSON: a list, one object per core).\n"
     "  --exe PATH     the program that dumped the core (default: from the core's file notes);\n"
     "                 another program (build-id, ELF header or entry point differ) is refused\n"
     "  --json         one JSON object (schema forkwatch/1) on stdout\n"
     "  --timeout S    give up after S seconds (default 120)\n"
     "  --verbose      show GDB's own messages\n"
     "Exit: 0 no deadlock found; 1 a finding; 2 usage; 3 could not analyse.\n"},
    {"snapshot",
     "forkwatch snapshot (PID | --core COREFILE [--exe PATH]) [--json]",
     "Reads every thread's native stack (function and module of each frame), the system call it\n"
     "sleeps in and the mappings of a live process or a core, without GDB (elfutils libdw). A\n"
     "live process is stopped only while its registers and stacks are read (PTRACE_SEIZE and\n"
     "PTRACE_INTERRUPT), then left running; the time it was stopped is reported. Its libraries\n"
     "are the files it maps (a process in a container or chroot is read with its own).\n"
     "  --core COREFILE  read a core file instead of a live process\n"
     "  --exe PATH       the program that dumped the core (default: from the core's file notes)\n"
     "  --json           one JSON object (schema forkwatch-snapshot/1) on stdout\n"
     "Exit: 0 snapshot printed; 2 usage; 3 could not read it (no such process, not permitted,\n"
     "it exited during the snapshot, not a core, a truncated core).\n"},
    {"help", "forkwatch help VERB", "Shows the help of one verb.\n"},
};

static const struct verb_help *find_verb(const char *verb)
{
    for (size_t i = 0; verb && i < sizeof verbs / sizeof verbs[0]; i++)
        if (strcmp(verbs[i].verb, verb) == 0)
            return &verbs[i];
    return NULL;
}

void fw_print_help(void)
{
    printf("forkwatch %s — finds why a process hangs after fork()\n\nUsage:\n", FW_VERSION);
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        printf("  %s\n", verbs[i].usage);
    printf("  forkwatch --help | --version\n\n"
           "`forkwatch help VERB` explains one verb.\n");
}

int fw_print_verb_help(const char *verb)
{
    const struct verb_help *h = find_verb(verb);
    if (!h)
        return fw_usage_error(NULL, "unknown verb '%s' (verbs: run, attach, core, snapshot, help)", verb);
    printf("Usage: %s\n\n%s", h->usage, h->details);
    return FW_EXIT_OK;
}

int fw_usage_error(const char *verb, const char *fmt, ...)
{
    va_list ap;
    fputs("forkwatch: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    const struct verb_help *h = find_verb(verb);
    if (h)
        fprintf(stderr, "usage: %s\n", h->usage);
    else
        fputs("usage: forkwatch run|attach|core|snapshot ... (see forkwatch --help)\n", stderr);
    return FW_EXIT_USAGE;
}
