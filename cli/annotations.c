/*
 * annotations.c — GitHub Actions workflow commands (GITHUB_ACTIONS=true):
 * "::error file=F,line=L,title=T::MESSAGE" puts the message on line L of F in
 * the pull request. F must be relative to the checkout ($GITHUB_WORKSPACE).
 * Escaping as the runner decodes it (actions/toolkit, command.ts): in the
 * message % CR LF; in properties also ':' and ','.
 */
#include <stdlib.h>
#include <string.h>

#include "ci_cases.h"

static void escape(FILE *out, const char *s, bool property)
{
    for (const char *p = s ? s : ""; *p; p++) {
        if (*p == '%')
            fputs("%25", out);
        else if (*p == '\r')
            fputs("%0D", out);
        else if (*p == '\n')
            fputs("%0A", out);
        else if (property && *p == ':')
            fputs("%3A", out);
        else if (property && *p == ',')
            fputs("%2C", out);
        else
            fputc(*p, out);
    }
}

static const char *relative_to_workspace(const char *file)
{
    const char *ws = getenv("GITHUB_WORKSPACE");
    size_t n = ws ? strlen(ws) : 0;
    while (n > 1 && ws[n - 1] == '/')
        n--;
    if (n && strncmp(file, ws, n) == 0 && file[n] == '/')
        return file + n + 1;
    return file;
}

void fw_github_annotate(FILE *out, const struct fw_ci_cases *c)
{
    for (size_t i = 0; i < c->count; i++) {
        const struct fw_ci_case *k = &c->items[i];
        fputs("::error ", out);
        if (k->file) {
            fputs("file=", out);
            escape(out, relative_to_workspace(k->file), true);
            fprintf(out, ",line=%lld,", k->line);
        }
        fputs("title=", out);
        escape(out, "forkwatch: ", true);
        escape(out, k->title, true);
        fputs("::", out);
        escape(out, k->message, false);
        fputc('\n', out);
    }
    fflush(out);
}
