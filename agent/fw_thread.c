/* fw_thread.c — thread slots and held entries. See fw_thread.h. */
#include "fw_thread.h"

#include "fw_log.h"

#include <pthread.h>
#include <sys/prctl.h>
#include <unistd.h>

__thread struct fw_tls_block fw_tls FW_TLS;
int fw_enabled;
uint32_t fw_threads_claimed_in_child;
int fw_in_fork_child;

/* Created by fw_thread_init(); its destructor marks the slot EXITED. */
static pthread_key_t slot_key;
static int slot_key_ok;

static void slot_key_destructor(void *p)
{
    fw_thread_exit(p);
}

void fw_thread_init(void)
{
    if (!slot_key_ok && pthread_key_create(&slot_key, slot_key_destructor) == 0)
        slot_key_ok = 1;
}

static int try_take(struct fw_thread *t)
{
    uint32_t s = __atomic_load_n(&t->state, __ATOMIC_RELAXED);
    if (s != FW_THREAD_FREE && s != FW_THREAD_EXITED)
        return 0;
    return __atomic_compare_exchange_n(&t->state, &s, FW_THREAD_LIVE, 0,
                                       __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

struct fw_thread *fw_thread_claim(void)
{
    struct fw_registry *r = &forkwatch_registry;
    for (uint32_t i = 0; i < FW_MAX_THREADS; i++) {
        struct fw_thread *t = &r->threads[i];
        if (!try_take(t))
            continue;
        t->held_used = 0;
        t->held_dropped = 0;
        t->next_seq = 0;
        t->fw_inflight = 0;   /* a thread cancelled inside a marked window left one */
        t->fw_inflight_holder = 0;
        t->tid = (int32_t)gettid();
        t->pthread_id = (uint64_t)pthread_self();
        char name[FW_NAME_LEN + 1] = { 0 };
        prctl(PR_GET_NAME, name);   /* no lock, unlike pthread_getname_np */
        for (uint32_t k = 0; k < FW_NAME_LEN; k++)
            t->name[k] = k + 1 < FW_NAME_LEN ? name[k] : '\0';
        fw_registry_raise_used(&r->header.threads, i + 1);
        if (fw_in_fork_child)
            __atomic_fetch_add(&fw_threads_claimed_in_child, 1, __ATOMIC_RELAXED);
        fw_tls_slot = t;
        if (slot_key_ok)
            pthread_setspecific(slot_key, t);
        return t;
    }
    /* Full: this thread stops being tracked (and stops rescanning the table). */
    fw_tls_guard = 1;
    fw_warn_flag_once(FW_FLAG_THREADS_FULL,
                      "thread table full: locks of further threads are not tracked");
    return 0;
}

void fw_thread_exit(struct fw_thread *slot)
{
    if (!slot)
        return;
    for (uint32_t i = 0; i < slot->held_used; i++)
        __atomic_store_n(&slot->held[i].state, FW_HOLD_EMPTY, __ATOMIC_RELEASE);
    slot->held_used = 0;
    fw_inflight_clear(slot);
    fw_tls_slot = 0;
    fw_tls_guard = 1;   /* other destructors may still lock: ignore them */
    __atomic_store_n(&slot->state, FW_THREAD_EXITED, __ATOMIC_RELEASE);
}

struct fw_held *fw_held_reserve_slow(struct fw_thread *t)
{
    uint32_t used = t->held_used;
    for (uint32_t i = 0; i < used; i++)
        if (__atomic_load_n(&t->held[i].state, __ATOMIC_RELAXED) == FW_HOLD_EMPTY)
            return &t->held[i];
    if (used < FW_MAX_HELD) {
        __atomic_store_n(&t->held_used, used + 1, __ATOMIC_RELEASE);
        return &t->held[used];
    }
    t->held_dropped++;
    fw_warn_flag_once(FW_FLAG_HELD_FULL,
                      "a thread holds more locks than recorded: some are not tracked");
    return 0;
}

void fw_held_clear_slow(struct fw_thread *t, struct fw_held *e)
{
    __atomic_store_n(&e->state, FW_HOLD_EMPTY, __ATOMIC_RELEASE);
    uint32_t used = t->held_used;
    while (used > 0 && __atomic_load_n(&t->held[used - 1].state, __ATOMIC_RELAXED) == FW_HOLD_EMPTY)
        used--;
    if (used != t->held_used)
        __atomic_store_n(&t->held_used, used, __ATOMIC_RELEASE);
}

struct fw_held *fw_held_find_slow(struct fw_thread *t, uint64_t addr, uint32_t state, uint32_t kind)
{
    for (uint32_t i = t->held_used; i-- > 0;) {
        struct fw_held *e = &t->held[i];
        if (e->lock_addr == addr && __atomic_load_n(&e->state, __ATOMIC_ACQUIRE) == state &&
            (kind == FW_KIND_NONE || e->kind == kind))
            return e;
    }
    return 0;
}

uint16_t fw_sem_hint[FW_SEM_HINT_SIZE];

/* Takes t's HELD entry for addr (CAS: two posters racing cannot both take it). */
static int remove_in(struct fw_thread *self, struct fw_thread *t, uint64_t addr, uint32_t kind)
{
    uint32_t ts = __atomic_load_n(&t->state, __ATOMIC_ACQUIRE);
    if (t == self || (ts != FW_THREAD_LIVE && ts != FW_THREAD_VANISHED))
        return 0;
    uint32_t used = __atomic_load_n(&t->held_used, __ATOMIC_ACQUIRE);
    if (used > FW_MAX_HELD)
        used = FW_MAX_HELD;
    for (uint32_t k = used; k-- > 0;) {
        struct fw_held *e = &t->held[k];
        if (e->lock_addr != addr || e->kind != kind ||
            __atomic_load_n(&e->state, __ATOMIC_RELAXED) != FW_HOLD_HELD)
            continue;
        if (self) {   /* the marker names the holder before its entry goes */
            __atomic_store_n(&self->fw_inflight_holder, fw_thread_index(t) + 1, __ATOMIC_RELAXED);
            fw_inflight_set(self, FW_INFL_SEM_REL_REMOTE, (const void *)(uintptr_t)addr);
        }
        uint32_t expect = FW_HOLD_HELD;
        if (__atomic_compare_exchange_n(&e->state, &expect, FW_HOLD_EMPTY, 0,
                                        __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
            return 1;
        if (self)
            fw_inflight_clear(self);
    }
    return 0;
}

int fw_held_remove_remote(struct fw_thread *self, uint64_t addr, uint32_t kind)
{
    struct fw_registry *r = &forkwatch_registry;
    uint32_t n = __atomic_load_n(&r->header.threads.used, __ATOMIC_ACQUIRE);
    uint32_t hint = __atomic_load_n(&fw_sem_hint[fw_sem_hint_index(addr)], __ATOMIC_RELAXED);
    if (hint != 0 && hint <= n && remove_in(self, &r->threads[hint - 1], addr, kind))
        return 1;
    for (uint32_t i = 0; i < n && i < FW_MAX_THREADS; i++)
        if (i + 1 != hint && remove_in(self, &r->threads[i], addr, kind))
            return 1;
    return 0;
}

void fw_held_forget_everywhere(uint64_t addr)
{
    fw_held_forget_in(addr, FW_THREAD_LIVE);
    fw_held_forget_in(addr, FW_THREAD_VANISHED);
}

void fw_held_forget_in(uint64_t addr, uint32_t slot_state)
{
    struct fw_registry *r = &forkwatch_registry;
    uint32_t n = __atomic_load_n(&r->header.threads.used, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < n; i++) {
        struct fw_thread *t = &r->threads[i];
        if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) != slot_state)
            continue;
        uint32_t used = __atomic_load_n(&t->held_used, __ATOMIC_ACQUIRE);
        for (uint32_t k = 0; k < used; k++) {
            struct fw_held *e = &t->held[k];
            if (e->lock_addr != addr)
                continue;
            uint32_t expect = FW_HOLD_HELD;
            if (!__atomic_compare_exchange_n(&e->state, &expect, FW_HOLD_EMPTY, 0,
                                             __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
                expect = FW_HOLD_COND_RELEASED;
                __atomic_compare_exchange_n(&e->state, &expect, FW_HOLD_EMPTY, 0,
                                            __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
            }
        }
    }
}

void fw_thread_rename(pthread_t thread, const char *name)
{
    struct fw_registry *r = &forkwatch_registry;
    uint32_t n = __atomic_load_n(&r->header.threads.used, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < n && i < FW_MAX_THREADS; i++) {
        struct fw_thread *t = &r->threads[i];
        if (t->state == FW_THREAD_LIVE && t->pthread_id == (uint64_t)thread) {
            uint32_t k = 0;
            for (; k + 1 < FW_NAME_LEN && name[k]; k++)
                t->name[k] = name[k];
            for (; k < FW_NAME_LEN; k++)
                t->name[k] = '\0';
            return;
        }
    }
}

int fw_thread_is_acquiring(const struct fw_thread *t, uint32_t used, uint64_t addr)
{
    for (uint32_t k = 0; k < used && k < FW_MAX_HELD; k++)
        if (t->held[k].lock_addr == addr &&
            __atomic_load_n(&t->held[k].state, __ATOMIC_ACQUIRE) == FW_HOLD_ACQUIRING)
            return 1;
    return 0;
}
