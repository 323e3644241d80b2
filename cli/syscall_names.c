/*
 * syscall_names.c — built from <sys/syscall.h>'s SYS_* numbers of the machine we are compiled
 * for, so the table is right on every architecture Debian builds (a call that does not exist
 * there is left out by its #ifdef, e.g. x86-64's poll or select, absent on arm64 where ppoll
 * and pselect6 are used). The calls are the blocking ones (where a hung thread sleeps) plus the
 * common ones a stopped thread may be caught in.
 */
#include "syscall_names.h"

#include <stddef.h>
#include <sys/syscall.h>

struct entry {
    long nr;
    const char *name;
};

#define E(n) {SYS_##n, #n}
static const struct entry table[] = {
#ifdef SYS_futex
    E(futex),
#endif
#ifdef SYS_futex_waitv
    E(futex_waitv),
#endif
#ifdef SYS_read
    E(read),
#endif
#ifdef SYS_write
    E(write),
#endif
#ifdef SYS_readv
    E(readv),
#endif
#ifdef SYS_writev
    E(writev),
#endif
#ifdef SYS_pread64
    E(pread64),
#endif
#ifdef SYS_pwrite64
    E(pwrite64),
#endif
#ifdef SYS_poll
    E(poll),
#endif
#ifdef SYS_ppoll
    E(ppoll),
#endif
#ifdef SYS_select
    E(select),
#endif
#ifdef SYS_pselect6
    E(pselect6),
#endif
#ifdef SYS_epoll_wait
    E(epoll_wait),
#endif
#ifdef SYS_epoll_pwait
    E(epoll_pwait),
#endif
#ifdef SYS_epoll_pwait2
    E(epoll_pwait2),
#endif
#ifdef SYS_nanosleep
    E(nanosleep),
#endif
#ifdef SYS_clock_nanosleep
    E(clock_nanosleep),
#endif
#ifdef SYS_wait4
    E(wait4),
#endif
#ifdef SYS_waitid
    E(waitid),
#endif
#ifdef SYS_pause
    E(pause),
#endif
#ifdef SYS_rt_sigsuspend
    E(rt_sigsuspend),
#endif
#ifdef SYS_rt_sigtimedwait
    E(rt_sigtimedwait),
#endif
#ifdef SYS_accept
    E(accept),
#endif
#ifdef SYS_accept4
    E(accept4),
#endif
#ifdef SYS_connect
    E(connect),
#endif
#ifdef SYS_recvfrom
    E(recvfrom),
#endif
#ifdef SYS_recvmsg
    E(recvmsg),
#endif
#ifdef SYS_sendto
    E(sendto),
#endif
#ifdef SYS_sendmsg
    E(sendmsg),
#endif
#ifdef SYS_flock
    E(flock),
#endif
#ifdef SYS_fcntl
    E(fcntl),
#endif
#ifdef SYS_msgrcv
    E(msgrcv),
#endif
#ifdef SYS_semop
    E(semop),
#endif
#ifdef SYS_semtimedop
    E(semtimedop),
#endif
#ifdef SYS_io_getevents
    E(io_getevents),
#endif
#ifdef SYS_io_uring_enter
    E(io_uring_enter),
#endif
#ifdef SYS_sched_yield
    E(sched_yield),
#endif
#ifdef SYS_openat
    E(openat),
#endif
#ifdef SYS_close
    E(close),
#endif
#ifdef SYS_ioctl
    E(ioctl),
#endif
#ifdef SYS_mmap
    E(mmap),
#endif
#ifdef SYS_munmap
    E(munmap),
#endif
#ifdef SYS_exit_group
    E(exit_group),
#endif
};
#undef E

const char *fw_syscall_name_any(long nr)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].nr == nr)
            return table[i].name;
    return NULL;
}
