/*
 * verbs.h — entry points of the forkwatch verbs. Each takes the arguments
 * after the verb name and returns the process exit status.
 */
#ifndef FW_CLI_VERBS_H
#define FW_CLI_VERBS_H

int fw_verb_run(int argc, char **argv);
int fw_verb_attach(int argc, char **argv);
int fw_verb_core(int argc, char **argv);
int fw_verb_snapshot(int argc, char **argv);

#endif
