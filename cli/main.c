/*
 * main.c — `forkwatch` verb dispatch, --help and --version.
 */
#include <stdio.h>
#include <string.h>

#include "usage.h"
#include "verbs.h"

int main(int argc, char **argv)
{
    if (argc < 2)
        return fw_usage_error(NULL, "missing verb");
    const char *verb = argv[1];
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
        fw_print_help();
        return FW_EXIT_OK;
    }
    if (strcmp(verb, "--version") == 0) {
        printf("forkwatch %s\n", FW_VERSION);
        return FW_EXIT_OK;
    }
    if (strcmp(verb, "help") == 0) {
        if (argc == 2) {
            fw_print_help();
            return FW_EXIT_OK;
        }
        if (argc > 3)
            return fw_usage_error("help", "help takes one verb");
        return fw_print_verb_help(argv[2]);
    }
    if (strcmp(verb, "run") == 0)
        return fw_verb_run(argc - 2, argv + 2);
    if (strcmp(verb, "attach") == 0)
        return fw_verb_attach(argc - 2, argv + 2);
    if (strcmp(verb, "core") == 0)
        return fw_verb_core(argc - 2, argv + 2);
    if (strcmp(verb, "snapshot") == 0)
        return fw_verb_snapshot(argc - 2, argv + 2);
    return fw_usage_error(NULL, "unknown verb '%s'", verb);
}
