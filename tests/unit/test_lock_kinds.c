/* The one table of lock kinds (gdb/forkwatch/lock_kinds.py) against every side that names
 * them: the agent's enum and JSON names, the GDB side, the CLI summary and the docs. The
 * check is tests/unit/check_lock_kinds.py (it reads Python and C sources); this runs it so
 * that the unit suite fails, with its lines, when one side drifts. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

Test(lock_kinds, every_side_names_the_kinds_of_the_one_table, .timeout = 60)
{
    char cmd[1024], out[8192];
    snprintf(cmd, sizeof cmd, "timeout 50 python3 '%s/tests/unit/check_lock_kinds.py' '%s' 2>&1", FW_SRCDIR,
             FW_SRCDIR);
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f, "cannot run %s", cmd);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    int status = pclose(f);
    cr_assert_eq(status, 0, "lock kinds drifted from gdb/forkwatch/lock_kinds.py:\n%s", out);
}
