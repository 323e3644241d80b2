/* fw_pymutex: recognising a CPython parking-lot waiter's semaphore and naming
 * the Python lock around the awaited PyMutex, from memory alone. The layouts
 * mimicked here are CPython's (Python/parking_lot.c struct wait_entry; Modules/
 * _threadmodule.c lockobject/rlockobject; Include/object.h PyTypeObject). */
#include <criterion/criterion.h>

#include "fw_pymutex.h"

#include <semaphore.h>
#include <stdint.h>
#include <string.h>

struct fake_type { uint64_t refcnt, type, size; const char *tp_name; };
struct fake_lock { uint64_t refcnt; struct fake_type *type; uint8_t mutex; uint8_t pad[7];
                   uint64_t thread, level; };
struct wait_entry { void *park_arg; uintptr_t addr; sem_t sema; };

static struct fake_type lock_type = { 1, 0, 0, "_thread.lock" };
static struct fake_type rlock_type = { 1, 0, 0, "_thread.RLock" };
static struct fake_type other_type = { 1, 0, 0, "_io.BufferedWriter" };

/* The check runs in a callee of the frame holding the wait_entry, as the
 * agent's sem_wait runs below _PySemaphore_PlatformWait. */
static __attribute__((noinline)) uint64_t awaited_from_callee(const void *sem)
{
    return fw_pymutex_awaited(sem);
}

Test(pymutex, waiter_semaphore_on_the_stack_names_the_locked_mutex)
{
    struct fake_lock l = { 1, &lock_type, 3, {0}, 0, 0 };
    struct wait_entry w = { 0, (uintptr_t)&l.mutex, {{0}} };
    cr_expect_eq(awaited_from_callee(&w.sema), (uint64_t)(uintptr_t)&l.mutex);
    l.mutex = 1;   /* no parked waiter: not what a park validates */
    cr_expect_eq(awaited_from_callee(&w.sema), 0);
    l.mutex = 2;   /* a PyEvent waiter */
    cr_expect_eq(awaited_from_callee(&w.sema), 0);
    l.mutex = 3;
    w.addr = 8;    /* unreadable address */
    cr_expect_eq(awaited_from_callee(&w.sema), 0);
}

Test(pymutex, semaphore_off_the_stack_is_not_a_waiter)
{
    static struct fake_lock l = { 1, &lock_type, 3, {0}, 0, 0 };
    static struct wait_entry w = { 0, (uintptr_t)&l.mutex, {{0}} };
    cr_expect_eq(awaited_from_callee(&w.sema), 0);
}

Test(pymutex, kind_from_the_containing_object)
{
    uint64_t owner = 99;
    struct fake_lock l = { 1, &lock_type, 3, {0}, 0x1234, 1 };
    cr_expect_str_eq(fw_pymutex_kind((uint64_t)(uintptr_t)&l.mutex, &owner), "threading.Lock");
    cr_expect_eq(owner, 0);
    l.type = &rlock_type;
    cr_expect_str_eq(fw_pymutex_kind((uint64_t)(uintptr_t)&l.mutex, &owner), "threading.RLock");
    cr_expect_eq(owner, 0x1234);
    l.type = &other_type;
    cr_expect_str_eq(fw_pymutex_kind((uint64_t)(uintptr_t)&l.mutex, &owner), "pymutex");
    cr_expect_eq(owner, 0);
    l.type = (struct fake_type *)(uintptr_t)16;   /* garbage type pointer */
    cr_expect_str_eq(fw_pymutex_kind((uint64_t)(uintptr_t)&l.mutex, &owner), "pymutex");
}
