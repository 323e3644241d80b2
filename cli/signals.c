/*
 * signals.c — signal forwarding to one child process.
 */
#include "signals.h"

#include <string.h>

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP};
static volatile sig_atomic_t target_pid;
static volatile sig_atomic_t send_sigterm;
static volatile sig_atomic_t last_signal;

static void forward(int sig, siginfo_t *info, void *uctx)
{
    (void)uctx;
    last_signal = sig;
    /* A terminal's ^C (si_code SI_KERNEL) already went to the whole foreground
     * process group, child included: sending it again would deliver it twice. */
    if (info && info->si_code == SI_KERNEL)
        return;
    if (target_pid > 0)
        kill((pid_t)target_pid, send_sigterm ? SIGTERM : sig);
}

static void set_mask(int how)
{
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
        sigaddset(&set, forwarded[i]);
    sigprocmask(how, &set, NULL);
}

void fw_block_forwarded_signals(void)
{
    set_mask(SIG_BLOCK);
}

void fw_unblock_forwarded_signals(void)
{
    set_mask(SIG_UNBLOCK);
}

void fw_child_reset_signals(void)
{
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
        signal(forwarded[i], SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    set_mask(SIG_UNBLOCK);
}

void fw_forward_signals_to(pid_t pid, bool as_sigterm)
{
    target_pid = pid;
    send_sigterm = as_sigterm;
    last_signal = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = forward;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
        sigaction(forwarded[i], &sa, NULL);
    set_mask(SIG_UNBLOCK);
}

int fw_forwarded_signal(void)
{
    return last_signal;
}

void fw_stop_forwarding(void)
{
    target_pid = 0;
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
        signal(forwarded[i], SIG_DFL);
}
