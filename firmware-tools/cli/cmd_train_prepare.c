/* `silkie train prepare`: VLFeedback records -> the preference JSONL `silkie train dpo` reads
 * (silkie_train_data.h). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "silkie/silkie_train_data.h"

typedef struct prepare_opts {
    const char *in, *out, *format;
    int json, dry_run;
    silkie_vlfeedback_params p;
} prepare_opts;

/* Names in enum order: the index is the value. */
static const char *const k_formats[] = {"auto", "array", "jsonl"};

/* Returns SILKIE_CLI_CONTINUE or the exit code. */
static int parse(int argc, char **argv, prepare_opts *o)
{
    o->format = k_formats[o->p.format];
    const silkie_opt t[] = {
        {"--vlfeedback", SILKIE_OPT_STR, &o->in, "IN.json|IN.jsonl",
         "VLFeedback records: a JSON array or one record a line", NULL, 0, 0,
         SILKIE_OPT_REQUIRED | SILKIE_OPT_IN_FILE, NULL},
        {"--out", SILKIE_OPT_STR, &o->out, "PAIRS.jsonl",
         "preference pairs to write (replaced whole, only on success)", "none", 0, 0,
         SILKIE_OPT_OUT_FILE, NULL},
        {"--dry-run", SILKIE_OPT_FLAG, &o->dry_run, NULL, "only count (instead of --out)", NULL,
         0, 0, 0, NULL},
        {"--format", SILKIE_OPT_CHOICE, &o->format, NULL,
         "input layout; auto tells them apart by the first character", NULL, 0, 0, 0,
         "auto|array|jsonl"},
        {"--json", SILKIE_OPT_FLAG, &o->json, NULL, "print the counts as one JSON object", NULL,
         0, 0, 0, NULL},
    };
    const silkie_cmd_spec spec = {
        "silkie train prepare", "",
        "Turns VLFeedback records into the preference pairs `silkie train dpo` reads: every "
        "two completions of a record with different mean ratings make a pair.",
        t, sizeof t / sizeof t[0], 0, 0, NULL};
    int rc = silkie_cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc != SILKIE_CLI_CONTINUE) return rc;
    for (int k = 0; k < 3; k++)
        if (!strcmp(o->format, k_formats[k])) o->p.format = (silkie_vlfeedback_format)k;
    if (!o->out == !o->dry_run)
        return silkie_cli_usage_error(&spec, "give either --out or --dry-run");
    return SILKIE_CLI_CONTINUE;
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
    prepare_opts o = {0};
    silkie_vlfeedback_params_init(&o.p);
    int rc = parse(argc, argv, &o);
    if (rc != SILKIE_CLI_CONTINUE) return rc;
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
