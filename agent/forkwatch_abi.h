/*
 * forkwatch_abi.h — the agent's in-memory registry: the contract between
 * libforkwatch.so (which writes it) and the GDB extension (which reads it from
 * a live process or a core file, with or without the agent's debug info).
 *
 * Rules of this contract:
 *  - One exported object, `forkwatch_registry` (FW_REGISTRY_SYMBOL), whose first
 *    bytes are `struct fw_registry_header`. Find it by its dynamic symbol.
 *  - Only fixed-width fields, naturally aligned, little-endian (x86-64/aarch64).
 *  - The header describes every table by (offset from the registry start,
 *    entry size, capacity, used). A reader must use those numbers, not its own
 *    sizeof(), and must bound-check them: a core may be damaged.
 *  - Any change to a field's meaning or position bumps FW_LAYOUT_VERSION.
 *    A new enum value (e.g. a lock kind) is an addition, not a change: no bump;
 *    readers must show values they do not know as unknown, never reject them.
 *    Appending fields at the end of an entry is allowed without a bump only if
 *    entry_size grows (readers ignore what they do not know).
 *  - gdb/forkwatch/agent_registry.py mirrors this file; tests/unit checks the
 *    offsets printed by tests/abi_offsets.c against that mirror.
 *
 * Consistency: writers update entries without locks. A reader of a live or
 * dumped process may see an entry mid-update; every entry therefore carries a
 * state word that is written last when an entry becomes valid and first when
 * it stops being valid (release/acquire ordering in the agent).
 */
#ifndef FORKWATCH_ABI_H
#define FORKWATCH_ABI_H

#include <stdint.h>

#define FW_REGISTRY_SYMBOL "forkwatch_registry"
/* "FRKWTCH1" read as a little-endian u64. */
#define FW_MAGIC 0x31484354574b5246ull
#define FW_LAYOUT_VERSION 1u

/* Capacities. Fixed so that memory is bounded and a debugger needs no heap walk. */
#define FW_MAX_THREADS 1024u     /* thread slots (live, exited, vanished at fork) */
#define FW_MAX_HELD 32u          /* held/acquiring locks recorded per thread */
#define FW_STACK_DEPTH 24u       /* native frames kept per acquiring call site */
#define FW_MAX_STACKS 4096u      /* distinct acquiring call sites with a stack */
#define FW_MAX_FORKS 64u         /* fork history ring */
#define FW_MAX_FORK_HELD 1024u   /* locks held by other threads at the latest fork */
#define FW_MAX_PY_THREADS 256u   /* Python threads captured at the latest fork */
#define FW_MAX_PY_FRAMES 4096u   /* Python frames captured at the latest fork */
#define FW_MAX_MODULES 512u      /* loaded objects captured at the latest fork */

#define FW_NAME_LEN 16u          /* native thread name, as pthread_getname_np */
#define FW_PY_NAME_LEN 32u       /* threading.Thread.name, truncated */
#define FW_FUNC_LEN 64u
#define FW_PY_FILE_LEN 184u
#define FW_PATH_LEN 240u
#define FW_BUILD_ID_MAX 32u

/* Lock kinds (held entries, fork-held entries, events). JSON names in comments; the one
 * table of kinds and their names is gdb/forkwatch/lock_kinds.py, and
 * tests/unit/check_lock_kinds.py checks this enum and fw_event.c against it. */
enum fw_lock_kind {
    FW_KIND_NONE = 0,
    FW_KIND_MUTEX = 1,          /* "pthread_mutex" */
    FW_KIND_RWLOCK_READ = 2,    /* "pthread_rwlock" (held for reading) */
    FW_KIND_RWLOCK_WRITE = 3,   /* "pthread_rwlock" (held for writing) */
    FW_KIND_SEMAPHORE = 4,      /* "semaphore" (CPython 3.8–3.13.0 locks are these) */
    FW_KIND_C11_MTX = 5,        /* "c11_mtx" */
    FW_KIND_GIL = 6,            /* "gil": CPython's GIL, in fork_held only (lock_addr = its
                                   struct _gil_runtime_state, call_site 0, holder = the
                                   thread its last_holder names). Added in agent 0.1.0's
                                   layout 1 without a bump: a new value, no field moved */
    FW_KIND_PYMUTEX = 7,        /* CPython 3.13.1+ PyMutex (lock_addr = its byte), in fork_held
                                   only, adopted in a child when a waiter parks on it; event
                                   JSON names the Python lock ("threading.Lock", ...) or
                                   "pymutex". holder_slot UINT32_MAX / holder_tid 0: the lock
                                   names no owner. Added without a bump: a new value */
};

/* State of one held entry. */
enum fw_hold_state {
    FW_HOLD_EMPTY = 0,          /* free entry */
    FW_HOLD_ACQUIRING = 1,      /* the thread is inside a blocking/timed acquire */
    FW_HOLD_HELD = 2,           /* acquired and not yet released */
    FW_HOLD_COND_RELEASED = 3,  /* mutex released inside pthread_cond_*wait / cnd_*wait */
};

/* State of one thread slot. */
enum fw_thread_state {
    FW_THREAD_FREE = 0,
    FW_THREAD_LIVE = 1,
    FW_THREAD_EXITED = 2,       /* slot kept until reused; held entries cleared */
    FW_THREAD_VANISHED = 3,     /* in a fork child: a parent thread that does not exist here */
};

/* Header flags. */
#define FW_FLAG_ENABLED        0x1u  /* agent initialised and recording */
#define FW_FLAG_SECURE_EXEC    0x2u  /* disabled: AT_SECURE */
#define FW_FLAG_THREADS_FULL   0x4u  /* a thread found no slot: its locks are not tracked */
#define FW_FLAG_HELD_FULL      0x8u  /* some thread held more than FW_MAX_HELD locks */
#define FW_FLAG_STACKS_FULL    0x10u /* stack pool full: new call sites have no stack */
#define FW_FLAG_FORK_HELD_FULL 0x20u /* more locks held at a fork than recorded */
#define FW_FLAG_PY_FULL        0x40u /* Python capture truncated */
#define FW_FLAG_MODULES_FULL   0x80u

/* Deadlock policy (FORKWATCH_ON_DEADLOCK). */
enum fw_policy { FW_POLICY_ABORT = 0, FW_POLICY_WARN = 1, FW_POLICY_OFF = 2 };

/* How a fork was made. */
enum fw_fork_via { FW_VIA_FORK = 1, FW_VIA_FORKPTY = 2, FW_VIA_UNDERSCORE_FORK = 3 };

/* Orphan state of a fork-held entry, as seen in the child's copy. In the parent
 * it stays FW_ORPHAN_NOT_CHILD. */
enum fw_orphan_state {
    FW_ORPHAN_NOT_CHILD = 0,
    FW_ORPHAN_LIVE = 1,            /* held by a thread that vanished in the fork */
    FW_ORPHAN_REINITIALISED = 2,   /* *_init'd or destroyed in the child: no longer a hazard */
    FW_ORPHAN_REPORTED = 3,        /* a fork-deadlock event was written for it */
};

struct fw_table_desc {
    uint32_t offset;      /* from the start of the registry */
    uint32_t entry_size;
    uint32_t capacity;
    uint32_t used;        /* entries [0, used) may be valid; check their state word */
};

struct fw_registry_header {
    uint64_t magic;              /*   0: FW_MAGIC */
    uint32_t layout_version;     /*   8: FW_LAYOUT_VERSION */
    uint32_t header_size;        /*  12: sizeof(struct fw_registry_header) */
    uint64_t total_size;         /*  16: sizeof(struct fw_registry) */
    int32_t pid;                 /*  24: this process (updated in a fork child) */
    int32_t parent_pid;          /*  28: parent at the fork that made this process, 0 if none */
    uint64_t born_of_fork_id;    /*  32: id of the fork record (in the parent) that made us, 0 if none */
    uint32_t flags;              /*  40: FW_FLAG_* */
    uint32_t policy;             /*  44: enum fw_policy */
    uint64_t forks_total;        /*  48: forks made by this process (and inherited history) */
    uint64_t deadlocks_reported; /*  56 */
    uint64_t hazards_reported;   /*  64 */
    uint32_t latest_fork_slot;   /*  72: index in forks[] of the fork that fork_held describes */
    uint32_t fork_held_count;    /*  76: same as fork_held.used */
    char agent_version[16];      /*  80: e.g. "0.1.0" */
    struct fw_table_desc threads;    /*  96 */
    struct fw_table_desc stacks;     /* 112 */
    struct fw_table_desc forks;      /* 128 */
    struct fw_table_desc fork_held;  /* 144 */
    struct fw_table_desc py_threads; /* 160 */
    struct fw_table_desc py_frames;  /* 176 */
    struct fw_table_desc modules;    /* 192 */
};                                    /* 208 bytes */

struct fw_held {
    uint64_t lock_addr;   /*  0 */
    uint64_t call_site;   /*  8: return address of the interposed call */
    uint32_t kind;        /* 16: enum fw_lock_kind */
    uint32_t state;       /* 20: enum fw_hold_state — 0 means the entry is free */
    uint32_t stack_id;    /* 24: 1-based index into stacks[], 0 = none */
    uint32_t seq;         /* 28: per-thread acquisition counter (order of acquisition) */
};                        /* 32 bytes */

struct fw_thread {
    uint32_t state;           /*  0: enum fw_thread_state */
    int32_t tid;              /*  4: kernel TID */
    uint64_t pthread_id;      /*  8: pthread_self() — equals CPython's thread ident */
    char name[FW_NAME_LEN];   /* 16: NUL-terminated */
    uint32_t held_used;       /* 32: entries [0, held_used) may be non-empty */
    uint32_t held_dropped;    /* 36: acquisitions not recorded (entry table full) */
    uint32_t next_seq;        /* 40 */
    uint32_t reserved;        /* 44 */
    uint64_t reserved2[2];    /* 48 */
    struct fw_held held[FW_MAX_HELD]; /* 64 */
};                                    /* 64 + 32*32 = 1088 bytes */

struct fw_stack {
    uint64_t call_site;       /*  0: the acquiring call site this stack belongs to (key) */
    uint32_t depth;           /*  8: frames used; 0 while being filled */
    uint32_t reserved;        /* 12 */
    uint64_t frames[FW_STACK_DEPTH]; /* 16: return addresses, innermost first */
};                            /* 16 + 24*8 = 208 bytes */

struct fw_fork {
    uint64_t fork_id;         /*  0: 1-based, per forking process; 0 = empty slot */
    uint64_t time_ns;         /*  8: CLOCK_REALTIME at the fork */
    int32_t parent_pid;       /* 16 */
    int32_t child_pid;        /* 20: in the parent: fork's result (-1 failed); in the child: getpid() */
    int32_t forker_tid;       /* 24 */
    uint32_t via;             /* 28: enum fw_fork_via */
    uint32_t held_count;      /* 32: locks other threads held (recorded in fork_held if latest) */
    uint32_t threads_live;    /* 36: live threads in the parent at the fork */
    uint32_t python_captured; /* 40: 1 if py_threads/py_frames describe this fork */
    uint32_t reserved;        /* 44 */
};                            /* 48 bytes */

struct fw_fork_held {
    uint64_t lock_addr;       /*   0 */
    uint64_t call_site;       /*   8 */
    uint32_t kind;            /*  16: enum fw_lock_kind */
    int32_t holder_tid;       /*  20 */
    uint32_t holder_slot;     /*  24: index into threads[] */
    uint32_t stack_id;        /*  28: 1-based into stacks[], 0 = none */
    int32_t py_thread;        /*  32: index into py_threads[], -1 = none */
    uint32_t orphan_state;    /*  36: enum fw_orphan_state */
    uint64_t holder_pthread;  /*  40 */
    char holder_name[FW_NAME_LEN];        /*  48 */
    char call_site_function[FW_FUNC_LEN]; /*  64: dladdr() name, resolved in the parent; may be "" */
};                                        /* 128 bytes */

struct fw_py_thread {
    uint64_t thread_ident;    /*  0: pthread_self() of the thread */
    int32_t tid;              /*  8: native TID when known, else 0 */
    uint32_t frame_first;     /* 12: index into py_frames[] */
    uint32_t frame_count;     /* 16: innermost first */
    uint32_t reserved;        /* 20 */
    char name[FW_PY_NAME_LEN];/* 24: threading.Thread.name, or "" */
};                            /* 56 bytes */

struct fw_py_frame {
    uint32_t line;                 /*   0 */
    uint32_t reserved;             /*   4 */
    char function[FW_FUNC_LEN];    /*   8 */
    char file[FW_PY_FILE_LEN];     /*  72 */
};                                 /* 256 bytes */

struct fw_module {
    uint64_t base;                 /*   0: load bias (dlpi_addr) */
    uint64_t end;                  /*   8: highest mapped address of its PT_LOAD segments */
    uint32_t build_id_len;         /*  16 */
    uint32_t reserved;             /*  20 */
    uint8_t build_id[FW_BUILD_ID_MAX]; /* 24 */
    char path[FW_PATH_LEN];        /*  56: "" for the main program when unnamed */
};                                 /* 296 bytes */

struct fw_registry {
    struct fw_registry_header header;
    struct fw_thread threads[FW_MAX_THREADS];
    struct fw_stack stacks[FW_MAX_STACKS];
    struct fw_fork forks[FW_MAX_FORKS];
    struct fw_fork_held fork_held[FW_MAX_FORK_HELD];
    struct fw_py_thread py_threads[FW_MAX_PY_THREADS];
    struct fw_py_frame py_frames[FW_MAX_PY_FRAMES];
    struct fw_module modules[FW_MAX_MODULES];
};

/* Exit status of a process the agent aborts on a fork deadlock (FORKWATCH_ON_DEADLOCK=abort). */
#define FW_EXIT_DEADLOCK 86

#endif /* FORKWATCH_ABI_H */
