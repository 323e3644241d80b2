/* Placeholder until attach/core land (same session). */
#include <stdio.h>
#include "usage.h"
#include "verbs.h"
int fw_verb_attach(int argc, char **argv) { (void)argc; (void)argv; fputs("forkwatch: attach: not implemented yet\n", stderr); return FW_EXIT_ERROR; }
int fw_verb_core(int argc, char **argv) { (void)argc; (void)argv; fputs("forkwatch: core: not implemented yet\n", stderr); return FW_EXIT_ERROR; }
