/*
 * junit.c — --junit FILE: one <testcase> with a <failure> per deadlock, in
 * the JUnit XML dialect that Jenkins, GitLab and pytest's --junitxml share
 * (testsuites > testsuite > testcase > failure message=... + body).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ci_cases.h"
#include "text_escape.h"

/* XML 1.0 text: & < > " escaped; control characters other than tab and
 * newline are not allowed in XML at all, so they become '?'. */
static void xml_text(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            fputc(*p < 0x20 && *p != '\n' && *p != '\t' ? '?' : *p, f);
        }
    }
}

bool fw_junit_write(const char *path, const struct fw_ci_cases *c, double duration_s)
{
    FILE *f = fopen(path, "we");
    if (!f) {
        char esc[512];
        fprintf(stderr, "forkwatch: cannot write the JUnit report %s: %s\n", fw_escape_cstr(path, esc, sizeof esc),
                strerror(errno));
        return false;
    }
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<testsuites name=\"forkwatch\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" time=\"%.3f\">\n"
               "  <testsuite name=\"forkwatch run\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"0\" "
               "time=\"%.3f\">\n",
            c->count, c->count, duration_s, c->count, c->count, duration_s);
    for (size_t i = 0; i < c->count; i++) {
        const struct fw_ci_case *k = &c->items[i];
        fputs("    <testcase classname=\"", f);
        xml_text(f, k->classname);
        fputs("\" name=\"", f);
        xml_text(f, k->name);
        fputc('"', f);
        if (k->file) {
            fputs(" file=\"", f);
            xml_text(f, k->file);
            fprintf(f, "\" line=\"%lld\"", k->line);
        }
        fputs(">\n      <failure type=\"forkwatch.deadlock\" message=\"", f);
        xml_text(f, k->message);
        fputs("\">", f);
        xml_text(f, k->body);
        fputs("</failure>\n    </testcase>\n", f);
    }
    fputs("  </testsuite>\n</testsuites>\n", f);
    bool ok = !ferror(f);
    ok = fclose(f) == 0 && ok;
    if (!ok) {
        char esc[512];
        fprintf(stderr, "forkwatch: cannot write the JUnit report %s\n", fw_escape_cstr(path, esc, sizeof esc));
    }
    return ok;
}
