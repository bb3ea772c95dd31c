/* `silkie train prepare`: VLFeedback records -> the preference JSONL `silkie train dpo` reads
 * (silkie_train_data.h). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "silkie/silkie_train_data.h"

static const char k_usage[] =
    "usage: silkie train prepare --vlfeedback IN.json|IN.jsonl (--out PAIRS.jsonl | --dry-run)\n"
    "         [--format auto|array|jsonl] [--json]\n"
    "  Turns VLFeedback records (a JSON array or one record per line) into preference pairs:\n"
    "  every two completions of a record with different mean ratings make a pair. --dry-run\n"
    "  only counts; --json prints the counts as one JSON object.\n";

typedef struct prepare_opts {
    const char *in, *out;
    int json, dry_run;
    silkie_vlfeedback_params p;
} prepare_opts;

/* 1 ok, 0 usage error (message printed). */
static int parse(int argc, char **argv, prepare_opts *o)
{
    static const char *const formats[] = {"auto", "array", "jsonl"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) {
            o->json = 1;
            continue;
        }
        if (!strcmp(a, "--dry-run")) {
            o->dry_run = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "silkie train prepare: unknown option or missing value: %s\n", a);
            return 0;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--vlfeedback")) o->in = v;
        else if (!strcmp(a, "--out")) o->out = v;
        else if (!strcmp(a, "--format")) {
            int k = 0;
            while (k < 3 && strcmp(v, formats[k])) k++;
            if (k == 3) {
                fprintf(stderr, "silkie train prepare: --format: unknown value '%s'\n", v);
                return 0;
            }
            o->p.format = (silkie_vlfeedback_format)k;
        } else {
            fprintf(stderr, "silkie train prepare: unknown option %s\n", a);
            return 0;
        }
    }
    if (!o->in) {
        fprintf(stderr, "silkie train prepare: --vlfeedback is required\n");
        return 0;
    }
    if (!o->out == !o->dry_run) {
        fprintf(stderr, "silkie train prepare: give either --out or --dry-run\n");
        return 0;
    }
    return 1;
}

static void print_json(const prepare_opts *o, const silkie_vlfeedback_stats *s,
                       silkie_status st)
{
    printf("{\"ok\": %s", st == SILKIE_OK ? "true" : "false");
    if (st != SILKIE_OK) {
        printf(", \"status\": \"%s\", \"error\": ", silkie_status_name(st));
        silkie_cli_json_string(stdout, silkie_last_error());
    }
    printf(", \"input\": ");
    silkie_cli_json_string(stdout, o->in);
    if (o->out) {
        printf(", \"output\": ");
        silkie_cli_json_string(stdout, o->out);
    }
    printf(", \"records\": %llu, \"records_malformed\": %llu, \"first_malformed_line\": %llu, "
           "\"completions\": %llu, \"pairs\": %llu, \"skipped\": {\"unparsable_rating\": %llu, "
           "\"out_of_range_rating\": %llu, \"empty_response\": %llu, \"equal_means\": %llu, "
           "\"identical_responses\": %llu}}\n",
           (unsigned long long)s->records_read, (unsigned long long)s->records_malformed,
           (unsigned long long)s->first_malformed_line, (unsigned long long)s->completions_read,
           (unsigned long long)s->pairs_written, (unsigned long long)s->pairs_skipped_unparsable,
           (unsigned long long)s->pairs_skipped_out_of_range,
           (unsigned long long)s->pairs_skipped_empty, (unsigned long long)s->pairs_skipped_equal,
           (unsigned long long)s->pairs_skipped_identical);
}

/* dest: "written to X", "dry run" or "nothing written". */
static void print_human(FILE *f, const silkie_vlfeedback_stats *s, const char *dest,
                        const char *path)
{
    fprintf(f, "%llu records (%llu malformed), %llu completions -> %llu pairs (%s%s); skipped "
               "pairs: %llu unparsable rating, %llu rating out of range, %llu empty response, "
               "%llu equal means, %llu identical responses\n",
            (unsigned long long)s->records_read, (unsigned long long)s->records_malformed,
            (unsigned long long)s->completions_read, (unsigned long long)s->pairs_written, dest,
            path ? path : "", (unsigned long long)s->pairs_skipped_unparsable,
            (unsigned long long)s->pairs_skipped_out_of_range,
            (unsigned long long)s->pairs_skipped_empty, (unsigned long long)s->pairs_skipped_equal,
            (unsigned long long)s->pairs_skipped_identical);
}

int silkie_cmd_train_prepare(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(k_usage, stdout);
            return 0;
        }
    prepare_opts o = {0};
    silkie_vlfeedback_params_init(&o.p);
    if (!parse(argc, argv, &o)) {
        fputs(k_usage, stderr);
        return 2;
    }
    silkie_vlfeedback_stats s;
    silkie_vlfeedback_stats_init(&s);
    silkie_status st = silkie_vlfeedback_convert(o.in, o.out, &o.p, &s);
    if (o.json) print_json(&o, &s, st);
    else if (st == SILKIE_OK && o.out) print_human(stdout, &s, "written to ", o.out);
    else if (st == SILKIE_OK) print_human(stdout, &s, "dry run", NULL);
    if (st != SILKIE_OK) {
        fprintf(stderr, "silkie train prepare: %s\n", silkie_last_error());
        if (!o.json && s.records_read) print_human(stderr, &s, "nothing written", NULL);
        return 1;
    }
    return 0;
}
