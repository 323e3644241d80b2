/* fw_python.c — placeholder until the CPython reader lands. */
#include "fw_python.h"

int fw_python_capture_at_fork(void) { return 0; }
int32_t fw_python_thread_index(uint64_t pthread_id) { (void)pthread_id; return -1; }
uint32_t fw_python_current_stack(struct fw_py_frame *out, uint32_t max) { (void)out; (void)max; return 0; }
