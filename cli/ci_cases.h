/*
 * ci_cases.h — the deadlocks of one run as CI systems want them: one case per
 * deadlock event, named after the test that forked (PYTEST_CURRENT_TEST) or
 * the --label, with the one-line summary, the human report and the place in
 * user code. Written out as JUnit XML (junit.c) and GitHub annotations
 * (annotations.c).
 */
#ifndef FW_CLI_CI_CASES_H
#define FW_CLI_CI_CASES_H

#include <stddef.h>
#include <stdio.h>

#include "json_doc.h"

struct fw_ci_case {
    char *classname;  /* "tests.test_x.TestA" (pytest's junit naming) or "forkwatch" */
    char *name;       /* "test_b", else "fork deadlock in pid N" */
    char *title;      /* "deadlock in tests/test_x.py::TestA::test_b", else name */
    char *message;    /* the one-line summary, without the "forkwatch: " prefix */
    char *body;       /* the human report */
    char *file;       /* the waiter's innermost user frame, or NULL */
    long long line;
};

struct fw_ci_cases {
    struct fw_ci_case *items;
    size_t count, cap;
};

/* A fw_report_event_fn: ctx is a struct fw_ci_cases. */
void fw_ci_collect(const struct json_object *ev, void *ctx);
void fw_ci_free(struct fw_ci_cases *c);

/* Writes the JUnit XML file; false after one error line. */
bool fw_junit_write(const char *path, const struct fw_ci_cases *c, double duration_s);
/* "::error file=F,line=L,title=T::MSG" per case (GitHub workflow commands). */
void fw_github_annotate(FILE *out, const struct fw_ci_cases *c);

#endif
