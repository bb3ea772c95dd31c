/* Table-driven option parsing, help and docs (see cli_opts.h). */
#include "cli_opts.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
    const char *name;
    silkie_dtype t;
} k_dtypes[] = {{"f32", SILKIE_DTYPE_F32},   {"f16", SILKIE_DTYPE_F16},
                {"bf16", SILKIE_DTYPE_BF16}, {"q8_0", SILKIE_DTYPE_Q8_0},
                {"q4_0", SILKIE_DTYPE_Q4_0}};

int silkie_cli_usage_error(const silkie_cmd_spec *spec, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", spec->prog);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help'.\n", spec->prog);
    return 2;
}

int silkie_cli_parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s) return 0;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s) return 0;
    *out = v;
    return 1;
}

int silkie_cli_parse_f64(const char *s, double *out)
{
    if (!s || !*s) return 0;
    errno = 0;
    char *end = NULL;
    double v = strtod(s, &end);
    if (errno == ERANGE && fabs(v) > 1.0) return 0;
    if (*end || end == s || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

static const char *file_kind(mode_t m)
{
    if (S_ISLNK(m)) return "a symbolic link";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISDIR(m)) return "a folder";
    if (S_ISSOCK(m)) return "a socket";
    return "not a regular file";
}

int silkie_cli_out_path_ok(const char *path, char *why, size_t why_len)
{
    struct stat st;
    if (!*path) {
        snprintf(why, why_len, "empty path");
        return 0;
    }
    if (lstat(path, &st) == 0) {
        if (!S_ISREG(st.st_mode)) {
            snprintf(why, why_len, "'%s' is %s; only a regular file is replaced", path,
                     file_kind(st.st_mode));
            return 0;
        }
        return 1;
    }
    if (errno != ENOENT) {
        snprintf(why, why_len, "'%s': %s", path, strerror(errno));
        return 0;
    }
    /* Missing: its folder must exist. */
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(why, why_len, "the folder of '%s' does not exist", path);
        return 0;
    }
    return 1;
}

static int check_path(const silkie_cmd_spec *spec, const silkie_opt *o, const char *v)
{
    struct stat st;
    char why[4200];
    if ((o->flags & SILKIE_OPT_STDIN) && !strcmp(v, "-")) return 1;
    if (o->flags & (SILKIE_OPT_IN_FILE | SILKIE_OPT_IN_PATH | SILKIE_OPT_IN_DIR)) {
        if (stat(v, &st) != 0)
            return silkie_cli_usage_error(spec, "%s: cannot use '%s': %s", o->name, v,
                                          strerror(errno)) == 0;
        if ((o->flags & SILKIE_OPT_IN_FILE) && !S_ISREG(st.st_mode))
            return silkie_cli_usage_error(spec, "%s: '%s' is not a regular file", o->name, v) ==
                   0;
        if ((o->flags & SILKIE_OPT_IN_DIR) && !S_ISDIR(st.st_mode))
            return silkie_cli_usage_error(spec, "%s: '%s' is not a folder", o->name, v) == 0;
        if (access(v, R_OK) != 0)
            return silkie_cli_usage_error(spec, "%s: '%s' is not readable", o->name, v) == 0;
    }
    if ((o->flags & SILKIE_OPT_OUT_FILE) && !silkie_cli_out_path_ok(v, why, sizeof why))
        return silkie_cli_usage_error(spec, "%s: %s", o->name, why) == 0;
    if ((o->flags & SILKIE_OPT_OUT_DIR) && stat(v, &st) == 0 && !S_ISDIR(st.st_mode))
        return silkie_cli_usage_error(spec, "%s: '%s' exists and is not a folder", o->name, v) ==
               0;
    return 1;
}

static void range_text(const silkie_opt *o, char *buf, size_t len)
{
    buf[0] = 0;
    if (o->lo == 0 && o->hi == 0) return;
    /* %.10g: a bound such as 16777216 is shown whole, not as 1.67772e+07. */
    snprintf(buf, len, "%c%.10g, %.10g]", (o->flags & SILKIE_OPT_LO_OPEN) ? '(' : '[', o->lo,
             o->hi);
}

static int in_range(const silkie_opt *o, double v)
{
    if (o->lo == 0 && o->hi == 0) return 1;
    if (v > o->hi) return 0;
    return (o->flags & SILKIE_OPT_LO_OPEN) ? v > o->lo : v >= o->lo;
}

static int choice_ok(const char *choices, const char *v)
{
    size_t n = strlen(v);
    for (const char *c = choices; c && *c;) {
        const char *bar = strchr(c, '|');
        size_t len = bar ? (size_t)(bar - c) : strlen(c);
        if (len == n && !strncmp(c, v, n)) return 1;
        c = bar ? bar + 1 : NULL;
    }
    return 0;
}

/* Stores v into *o->dst; 1 ok, 0 usage error (printed). */
static int store(const silkie_cmd_spec *spec, const silkie_opt *o, const char *v)
{
    int64_t i;
    double d;
    char range[96];
    range_text(o, range, sizeof range);
    switch (o->kind) {
    case SILKIE_OPT_FLAG: *(int *)o->dst = 1; return 1;
    case SILKIE_OPT_STR:
        if (!check_path(spec, o, v)) return 0;
        *(const char **)o->dst = v;
        return 1;
    case SILKIE_OPT_LIST: {
        silkie_opt_list *l = o->dst;
        if (l->n == SILKIE_OPT_LIST_MAX)
            return silkie_cli_usage_error(spec, "%s: at most %d values", o->name,
                                          SILKIE_OPT_LIST_MAX) == 0;
        if (!check_path(spec, o, v)) return 0;
        l->v[l->n++] = v;
        return 1;
    }
    case SILKIE_OPT_CHOICE:
    case SILKIE_OPT_DTYPE:
        if (!choice_ok(o->choices, v))
            return silkie_cli_usage_error(spec, "%s: '%s' is not one of %s", o->name, v,
                                          o->choices) == 0;
        if (o->kind == SILKIE_OPT_CHOICE) {
            *(const char **)o->dst = v;
            return 1;
        }
        for (size_t k = 0; k < sizeof k_dtypes / sizeof k_dtypes[0]; k++)
            if (!strcmp(v, k_dtypes[k].name)) *(silkie_dtype *)o->dst = k_dtypes[k].t;
        return 1;
    case SILKIE_OPT_I32:
    case SILKIE_OPT_U32:
    case SILKIE_OPT_I64:
    case SILKIE_OPT_U64: {
        int is_unsigned = o->kind == SILKIE_OPT_U32 || o->kind == SILKIE_OPT_U64;
        double lo = o->kind == SILKIE_OPT_I32 ? INT32_MIN : o->kind == SILKIE_OPT_I64 ? -9.2e18 : 0;
        double hi = o->kind == SILKIE_OPT_I32 ? INT32_MAX : o->kind == SILKIE_OPT_U32 ? UINT32_MAX
                                                                                      : 9.2e18;
        if (!silkie_cli_parse_i64(v, &i))
            return silkie_cli_usage_error(spec, "%s: '%s' is not %s integer", o->name, v,
                                          is_unsigned ? "a non-negative" : "an") == 0;
        if ((double)i < lo || (double)i > hi || !in_range(o, (double)i))
            return silkie_cli_usage_error(spec, "%s: %s is out of range %s", o->name, v,
                                          range[0] ? range : "for the type") == 0;
        if (o->kind == SILKIE_OPT_I32) *(int32_t *)o->dst = (int32_t)i;
        else if (o->kind == SILKIE_OPT_U32) *(uint32_t *)o->dst = (uint32_t)i;
        else if (o->kind == SILKIE_OPT_I64) *(int64_t *)o->dst = i;
        else *(uint64_t *)o->dst = (uint64_t)i;
        return 1;
    }
    case SILKIE_OPT_F32:
    case SILKIE_OPT_F64:
        if (!silkie_cli_parse_f64(v, &d))
            return silkie_cli_usage_error(spec, "%s: '%s' is not a finite number", o->name, v) ==
                   0;
        if (!in_range(o, d) || (o->kind == SILKIE_OPT_F32 && fabs(d) > 3.0e38))
            return silkie_cli_usage_error(spec, "%s: %s is out of range %s", o->name, v,
                                          range[0] ? range : "for the type") == 0;
        if (o->kind == SILKIE_OPT_F32) *(float *)o->dst = (float)d;
        else *(double *)o->dst = d;
        return 1;
    }
    return 0;
}

static const silkie_opt *find(const silkie_cmd_spec *spec, const char *name, size_t len)
{
    for (size_t k = 0; k < spec->n_opts; k++)
        if (strlen(spec->opts[k].name) == len && !strncmp(spec->opts[k].name, name, len))
            return &spec->opts[k];
    return NULL;
}

int silkie_cli_parse(const silkie_cmd_spec *spec, int argc, char **argv, const char **pos,
                     int *n_pos)
{
    int np = 0, options_done = 0;
    unsigned char seen[128] = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!options_done && (!strcmp(a, "--help") || !strcmp(a, "-h"))) {
            silkie_cli_help(spec, stdout);
            return 0;
        }
        if (!options_done && !strcmp(a, "--help-markdown")) {
            silkie_cli_help_markdown(spec, stdout);
            return 0;
        }
        if (!options_done && !strcmp(a, "--")) {
            options_done = 1;
            continue;
        }
        if (options_done || a[0] != '-' || !a[1]) {
            if (np >= spec->max_pos)
                return silkie_cli_usage_error(spec, "unexpected argument '%s'", a);
            pos[np++] = a;
            continue;
        }
        const char *eq = strncmp(a, "--", 2) ? NULL : strchr(a, '=');
        const silkie_opt *o = find(spec, a, eq ? (size_t)(eq - a) : strlen(a));
        if (!o) return silkie_cli_usage_error(spec, "unknown option '%s'", a);
        const char *v = NULL;
        if (o->kind == SILKIE_OPT_FLAG) {
            if (eq) return silkie_cli_usage_error(spec, "%s takes no value", o->name);
        } else if (eq) {
            v = eq + 1;
        } else if (i + 1 < argc) {
            v = argv[++i];
        } else {
            return silkie_cli_usage_error(spec, "%s needs a value (%s)", o->name,
                                          o->meta ? o->meta : "VALUE");
        }
        size_t idx = (size_t)(o - spec->opts);
        if (idx < sizeof seen && seen[idx] && o->kind != SILKIE_OPT_LIST &&
            o->kind != SILKIE_OPT_FLAG)
            return silkie_cli_usage_error(spec, "%s given twice", o->name);
        if (idx < sizeof seen) seen[idx] = 1;
        if (!store(spec, o, v)) return 2;
    }
    for (size_t k = 0; k < spec->n_opts; k++)
        if ((spec->opts[k].flags & SILKIE_OPT_REQUIRED) && !(k < sizeof seen && seen[k]))
            return silkie_cli_usage_error(spec, "%s %s is required", spec->opts[k].name,
                                          spec->opts[k].meta ? spec->opts[k].meta : "");
    if (np < spec->min_pos)
        return silkie_cli_usage_error(spec, "missing %s", spec->args[0] ? spec->args : "argument");
    if (n_pos) *n_pos = np;
    return SILKIE_CLI_CONTINUE;
}

/* The default as shown: the table's text, else the value in *dst now (before parsing). */
static void default_text(const silkie_opt *o, char *buf, size_t len)
{
    if (o->def) {
        snprintf(buf, len, "%s", o->def);
        return;
    }
    buf[0] = 0;
    switch (o->kind) {
    case SILKIE_OPT_FLAG: snprintf(buf, len, "off"); break;
    case SILKIE_OPT_LIST: break;
    case SILKIE_OPT_STR:
    case SILKIE_OPT_CHOICE: {
        const char *s = *(const char *const *)o->dst;
        if (s) snprintf(buf, len, "%s", s);
        break;
    }
    case SILKIE_OPT_I32: snprintf(buf, len, "%d", (int)*(const int32_t *)o->dst); break;
    case SILKIE_OPT_U32: snprintf(buf, len, "%u", (unsigned)*(const uint32_t *)o->dst); break;
    case SILKIE_OPT_I64: snprintf(buf, len, "%lld", (long long)*(const int64_t *)o->dst); break;
    case SILKIE_OPT_U64:
        snprintf(buf, len, "%llu", (unsigned long long)*(const uint64_t *)o->dst);
        break;
    case SILKIE_OPT_F32: snprintf(buf, len, "%g", (double)*(const float *)o->dst); break;
    case SILKIE_OPT_F64: snprintf(buf, len, "%g", *(const double *)o->dst); break;
    case SILKIE_OPT_DTYPE:
        for (size_t k = 0; k < sizeof k_dtypes / sizeof k_dtypes[0]; k++)
            if (k_dtypes[k].t == *(const silkie_dtype *)o->dst)
                snprintf(buf, len, "%s", k_dtypes[k].name);
        break;
    }
}

static void option_head(const silkie_opt *o, char *buf, size_t len)
{
    const char *meta = o->meta ? o->meta : o->choices ? o->choices : "VALUE";
    if (o->kind == SILKIE_OPT_FLAG) snprintf(buf, len, "%s", o->name);
    else snprintf(buf, len, "%s %s", o->name, meta);
}

/* Appends to buf (cut at len, always terminated). */
static void append(char *buf, size_t len, const char *fmt, const char *arg)
{
    size_t n = strlen(buf);
    if (n + 1 < len) snprintf(buf + n, len - n, fmt, arg);
}

/* "help text; default X; range R; repeatable" (or "; required") as one line. */
static void option_tail(const silkie_opt *o, char *buf, size_t len)
{
    char def[256], range[96];
    default_text(o, def, sizeof def);
    range_text(o, range, sizeof range);
    snprintf(buf, len, "%s", o->help);
    if (o->flags & SILKIE_OPT_REQUIRED) append(buf, len, "; required%s", "");
    else if (def[0]) append(buf, len, "; default %s", def);
    if (range[0]) append(buf, len, "; range %s", range);
    if (o->kind == SILKIE_OPT_LIST) append(buf, len, "; repeatable%s", "");
}

void silkie_cli_help(const silkie_cmd_spec *spec, FILE *f)
{
    fprintf(f, "usage: %s [OPTIONS]%s%s\n\n%s\n\nOptions:\n", spec->prog,
            spec->args[0] ? " " : "", spec->args, spec->summary);
    char head[160], tail[1024];
    for (size_t k = 0; k < spec->n_opts; k++) {
        option_head(&spec->opts[k], head, sizeof head);
        option_tail(&spec->opts[k], tail, sizeof tail);
        if (strlen(head) <= 26) fprintf(f, "  %-26s  %s\n", head, tail);
        else fprintf(f, "  %s\n  %-26s  %s\n", head, "", tail);
    }
    fprintf(f, "  %-26s  %s\n", "-h, --help", "print this help and exit");
    if (spec->notes) fprintf(f, "\n%s", spec->notes);
}

static void md_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|') fputs("\\|", f);
        else fputc(*s, f);
    }
}

void silkie_cli_help_markdown(const silkie_cmd_spec *spec, FILE *f)
{
    fprintf(f, "## `%s`\n\n```\n%s [OPTIONS]%s%s\n```\n\n%s\n\n", spec->prog, spec->prog,
            spec->args[0] ? " " : "", spec->args, spec->summary);
    fprintf(f, "| Option | Meaning |\n|---|---|\n");
    char head[160], tail[1024];
    for (size_t k = 0; k < spec->n_opts; k++) {
        option_head(&spec->opts[k], head, sizeof head);
        option_tail(&spec->opts[k], tail, sizeof tail);
        fputs("| `", f);
        md_escaped(f, head);
        fputs("` | ", f);
        md_escaped(f, tail);
        fputs(" |\n", f);
    }
    fprintf(f, "| `-h`, `--help` | print this help and exit |\n");
    if (spec->notes) fprintf(f, "\n```\n%s```\n", spec->notes);
    fputc('\n', f);
}

void silkie_cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\r') fputs("\\r", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}
