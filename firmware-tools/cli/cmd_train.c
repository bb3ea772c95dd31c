/* `silkie train dpo`: preference fine-tuning of a LoRA adapter (silkie_train.h).
 * --steps 0 evaluates the first pair without an update and can dump every tensor of the step
 * for verification against a reference implementation. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "silkie/silkie_train.h"

typedef struct train_opts {
    const char *model, *init_adapter, *data, *images, *dump, *device, *system;
    silkie_dtype weights, vision;
    int vision_set, validate, quiet;
    long steps;                   /* -1: not given (train by epochs) */
    silkie_train_params tp;
    silkie_train_run_params rp;
} train_opts;

static const char k_usage[] =
    "usage: silkie train dpo --model DIR|FILE.gguf --data PAIRS.jsonl [--images DIR] --out RUN\n"
    "         [options]                      train, writing RUN/log.jsonl, checkpoints, adapter\n"
    "       silkie train dpo ... --steps 0 [--dump OUT.safetensors]\n"
    "                                        evaluate the first pair and its gradients only\n"
    "       silkie train prepare --vlfeedback IN.json[l] --out PAIRS.jsonl\n"
    "adapter (default: a new one with Silkie's recipe):\n"
    "  --init-adapter DIR     start from a PEFT adapter\n"
    "  --lora-r R (64)  --lora-alpha A (16)  --lora-targets LIST|REGEX (c_attn,attn.c_proj,w1,w2)\n"
    "  --lora-dropout P       (the adapter's, or 0.05)\n"
    "loss and data:\n"
    "  --loss sigmoid|ipo|hinge|robust (sigmoid)  --beta B (0.1)  --label-smoothing E (0)\n"
    "  --layout plain|silkie (silkie)  --max-prompt N (1024)  --max-length N (2048)\n"
    "  --eval-data FILE | --eval-split F (0)  --seed S (0)  --system TEXT\n"
    "optimizer and schedule:\n"
    "  --steps N | --epochs E (3)  --batch B (1)  --grad-accum K (1)  --lr LR (1e-5)\n"
    "  --lr-scheduler cosine|linear|constant (cosine)  --warmup-ratio R (0.1)\n"
    "  --weight-decay W (0.05)  --adam-beta1 B (0.9)  --adam-beta2 B (0.98)\n"
    "  --max-grad-norm N (1.0; 0 = off)\n"
    "run folder:\n"
    "  --out RUN  --resume  --save-every K (end only)  --eval-every K (end only)  --quiet\n"
    "model:\n"
    "  --weights f32|f16|bf16|q8_0|q4_0 (f16)  --vision-weights f32|f16|bf16 (follows a float\n"
    "  --weights, else f16)  --kv f16|f32 (accepted; training keeps no cache)  --device D\n"
    "  --validate\n";

/* Whole-string numbers only: "abc", "1x", NaN and Inf are refused. */
static int parse_double(const char *opt, const char *v, double lo, double hi, double *out)
{
    char *end = NULL;
    errno = 0;
    double d = strtod(v, &end);
    if (!*v || *end || errno || !isfinite(d) || d < lo || d > hi) {
        fprintf(stderr, "silkie train: %s expects a number in [%g, %g], got '%s'\n", opt, lo, hi,
                v);
        return 0;
    }
    *out = d;
    return 1;
}

static int parse_long(const char *opt, const char *v, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!*v || *end || errno || n < lo || n > hi) {
        fprintf(stderr, "silkie train: %s expects an integer in [%ld, %ld], got '%s'\n", opt, lo,
                hi, v);
        return 0;
    }
    *out = n;
    return 1;
}

static int parse_choice(const char *opt, const char *v, const char *const *names, int n, int *out)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(v, names[i])) {
            *out = i;
            return 1;
        }
    fprintf(stderr, "silkie train: %s: unknown value '%s'\n", opt, v);
    return 0;
}

/* 1 ok, 0 usage error (message printed). */
static int parse(int argc, char **argv, train_opts *o)
{
    static const char *const layouts[] = {"plain", "silkie"};
    static const char *const losses[] = {"sigmoid", "ipo", "hinge", "robust"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--validate") || !strcmp(a, "--resume") || !strcmp(a, "--quiet")) {
            if (a[2] == 'v') o->validate = 1;
            else if (a[2] == 'r') o->rp.resume = 1;
            else o->quiet = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "silkie train: unknown option or missing value: %s\n", a);
            return 0;
        }
        const char *v = argv[++i];
        double d;
        long n;
        int c;
        if (!strcmp(a, "--model")) o->model = v;
        else if (!strcmp(a, "--init-adapter")) o->init_adapter = v;
        else if (!strcmp(a, "--data")) o->data = v;
        else if (!strcmp(a, "--images")) o->images = v;
        else if (!strcmp(a, "--dump")) o->dump = v;
        else if (!strcmp(a, "--device")) o->device = v;
        else if (!strcmp(a, "--system")) o->system = v;
        else if (!strcmp(a, "--lora-targets")) o->tp.lora_targets = v;
        else if (!strcmp(a, "--out")) o->rp.out_dir = v;
        else if (!strcmp(a, "--eval-data")) o->rp.eval_data = v;
        else if (!strcmp(a, "--eval-split")) {
            if (!parse_double(a, v, 0, 0.99, &d)) return 0;
            o->rp.eval_split = (float)d;
        } else if (!strcmp(a, "--epochs")) {
            if (!parse_double(a, v, 1e-6, 1e6, &d)) return 0;
            o->rp.epochs = (float)d;
        } else if (!strcmp(a, "--batch") || !strcmp(a, "--grad-accum")) {
            if (!parse_long(a, v, 1, 4096, &n)) return 0;
            if (a[2] == 'b') o->rp.batch = (uint32_t)n;
            else o->rp.grad_accum = (uint32_t)n;
        } else if (!strcmp(a, "--save-every") || !strcmp(a, "--eval-every")) {
            if (!parse_long(a, v, 0, 100000000, &n)) return 0;
            if (a[2] == 's') o->rp.save_every = (uint32_t)n;
            else o->rp.eval_every = (uint32_t)n;
        } else if (!strcmp(a, "--lr")) {
            if (!parse_double(a, v, 0, 10, &d)) return 0;
            o->rp.optim.lr = (float)d;
        } else if (!strcmp(a, "--warmup-ratio")) {
            if (!parse_double(a, v, 0, 1, &d)) return 0;
            o->rp.warmup_ratio = (float)d;
        } else if (!strcmp(a, "--weight-decay")) {
            if (!parse_double(a, v, 0, 10, &d)) return 0;
            o->rp.optim.weight_decay = (float)d;
        } else if (!strcmp(a, "--adam-beta1") || !strcmp(a, "--adam-beta2")) {
            if (!parse_double(a, v, 0, 0.999999, &d)) return 0;
            if (a[11] == '1') o->rp.optim.beta1 = (float)d;
            else o->rp.optim.beta2 = (float)d;
        } else if (!strcmp(a, "--max-grad-norm")) {
            if (!parse_double(a, v, 0, 1e9, &d)) return 0;
            o->rp.optim.max_grad_norm = (float)d;
        } else if (!strcmp(a, "--lr-scheduler")) {
            static const char *const sch[] = {"cosine", "linear", "constant"};
            if (!parse_choice(a, v, sch, 3, &c)) return 0;
            o->rp.scheduler = (silkie_lr_scheduler)c;
        }
        else if (!strcmp(a, "--weights")) { if (!silkie_cli_parse_dtype(v, &o->weights)) return 0; }
        else if (!strcmp(a, "--vision-weights")) {
            if (!silkie_cli_parse_dtype(v, &o->vision)) return 0;
            o->vision_set = 1;
        } else if (!strcmp(a, "--kv")) {
            /* Training attends over its own keys and values (no cache): accepted so that the
             * same exact-math flags work for every command, and checked. */
            silkie_dtype kv;
            if (!silkie_cli_parse_dtype(v, &kv)) return 0;
            if (kv != SILKIE_DTYPE_F32 && kv != SILKIE_DTYPE_F16) {
                fprintf(stderr, "silkie train: --kv must be f16 or f32\n");
                return 0;
            }
        } else if (!strcmp(a, "--steps")) {
            if (!parse_long(a, v, 0, 100000000, &o->steps)) return 0;
        }
        else if (!strcmp(a, "--seed")) {
            if (!parse_long(a, v, 0, 0x7fffffffL, &n)) return 0;
            o->tp.seed = (uint64_t)n;
        } else if (!strcmp(a, "--lora-r")) {
            if (!parse_long(a, v, 1, 4096, &n)) return 0;
            o->tp.lora_r = (uint32_t)n;
        } else if (!strcmp(a, "--lora-alpha")) {
            if (!parse_double(a, v, 1e-6, 1e6, &d)) return 0;
            o->tp.lora_alpha = (float)d;
        } else if (!strcmp(a, "--lora-dropout")) {
            if (!parse_double(a, v, 0, 0.999, &d)) return 0;
            o->tp.lora_dropout = (float)d;
        } else if (!strcmp(a, "--beta")) {
            if (!parse_double(a, v, 1e-6, 1e6, &d)) return 0;
            o->tp.beta = (float)d;
        } else if (!strcmp(a, "--label-smoothing")) {
            if (!parse_double(a, v, 0, 0.499, &d)) return 0;
            o->tp.label_smoothing = (float)d;
        } else if (!strcmp(a, "--max-prompt")) {
            if (!parse_long(a, v, 1, 1 << 20, &n)) return 0;
            o->tp.max_prompt_tokens = (uint32_t)n;
        } else if (!strcmp(a, "--max-length")) {
            if (!parse_long(a, v, 2, 1 << 20, &n)) return 0;
            o->tp.max_total_tokens = (uint32_t)n;
        } else if (!strcmp(a, "--layout")) {
            if (!parse_choice(a, v, layouts, 2, &c)) return 0;
            o->tp.layout = (silkie_chat_layout)c;
        } else if (!strcmp(a, "--loss")) {
            if (!parse_choice(a, v, losses, 4, &c)) return 0;
            o->tp.loss = (silkie_dpo_loss)c;
        } else {
            fprintf(stderr, "silkie train: unknown option %s\n", a);
            return 0;
        }
    }
    if (!o->model || !o->data) {
        fprintf(stderr, "silkie train: --model and --data are required\n");
        return 0;
    }
    if (o->steps != 0 && !o->rp.out_dir) {
        fprintf(stderr, "silkie train: --out RUN is required to train (--steps 0 evaluates)\n");
        return 0;
    }
    if (o->steps == 0 && (o->rp.out_dir || o->rp.resume)) {
        fprintf(stderr, "silkie train: --steps 0 evaluates one pair; it writes no run folder\n");
        return 0;
    }
    if (o->steps != 0 && o->dump) {
        fprintf(stderr, "silkie train: --dump goes with --steps 0\n");
        return 0;
    }
    if (o->tp.max_prompt_tokens >= o->tp.max_total_tokens) {
        fprintf(stderr, "silkie train: --max-prompt must be below --max-length\n");
        return 0;
    }
    return 1;
}

static void print_metrics(const silkie_dpo_metrics *m)
{
    printf("{\"loss\": %.9g, \"logits\": %.9g, \"rewards/chosen\": %.9g, "
           "\"rewards/rejected\": %.9g, \"logps/chosen\": %.9g, \"logps/rejected\": %.9g, "
           "\"ref_logps/chosen\": %.9g, \"ref_logps/rejected\": %.9g, \"tokens/chosen\": %u, "
           "\"tokens/rejected\": %u}\n",
           m->loss, m->logits, m->chosen_rewards, m->rejected_rewards, m->policy_chosen_logps,
           m->policy_rejected_logps, m->reference_chosen_logps, m->reference_rejected_logps,
           m->chosen_tokens, m->rejected_tokens);
}

static int fail(const char *what)
{
    fprintf(stderr, "silkie train: %s: %s\n", what, silkie_last_error());
    return 1;
}

/* One line, rewritten in place on a terminal; nothing when stderr is not one. */
static void on_progress(const silkie_train_progress *p, void *user)
{
    (void)user;
    uint64_t skipped = 0;
    for (int i = 0; i < SILKIE_TRAIN_SKIP_N_REASONS; i++) skipped += p->skipped[i];
    if (p->is_eval) {
        fprintf(stderr, "\r\033[Keval at step %u: loss %.4f, reward accuracy %.3f\n", p->step,
                p->loss, p->accuracy);
        return;
    }
    unsigned eta = (unsigned)p->eta_s;
    fprintf(stderr,
            "\r\033[Kstep %u/%u  epoch %.2f  loss %.4f  acc %.2f  %.1f tok/s  ETA %um%02us"
            "%s%llu skipped",
            p->step, p->total_steps, p->epoch, p->loss, p->accuracy, p->tokens_per_s, eta / 60,
            eta % 60, skipped ? "  " : "", (unsigned long long)skipped);
    if (!skipped) fprintf(stderr, "\r");
    fflush(stderr);
}

static int run_training(const train_opts *o, silkie_trainer *t)
{
    silkie_train_run_params rp = o->rp;
    rp.data = o->data;
    rp.images = o->images;
    rp.steps = o->steps > 0 ? (uint32_t)o->steps : 0;
    rp.seed = o->tp.seed;
    if (!o->quiet && isatty(2)) rp.on_progress = on_progress;
    silkie_train_summary sum;
    silkie_status st = silkie_trainer_run(t, &rp, &sum);
    if (rp.on_progress) fputc('\n', stderr);
    printf("{\"status\": \"%s\", \"steps\": %u, \"resumed_from\": %u, \"pairs_train\": %llu, "
           "\"pairs_eval\": %llu, \"loss\": %.9g, \"eval_loss\": %.9g, "
           "\"eval_accuracy\": %.9g, \"skipped\": {",
           silkie_status_name(st), sum.steps, sum.resumed_from,
           (unsigned long long)sum.pairs_train, (unsigned long long)sum.pairs_eval, sum.last_loss,
           isnan(sum.eval_loss) ? -1.0 : sum.eval_loss,
           isnan(sum.eval_accuracy) ? -1.0 : sum.eval_accuracy);
    for (int i = 0; i < SILKIE_TRAIN_SKIP_N_REASONS; i++)
        printf("%s\"%s\": %llu", i ? ", " : "", silkie_train_skip_name((silkie_train_skip)i),
               (unsigned long long)sum.skipped[i]);
    printf("}}\n");
    if (st != SILKIE_OK) return fail("run");
    return 0;
}

static int run_dpo(int argc, char **argv)
{
    train_opts o = {.weights = SILKIE_DTYPE_F16, .steps = -1};
    silkie_train_params_init(&o.tp);
    silkie_train_run_params_init(&o.rp);
    if (!parse(argc, argv, &o)) {
        fputs(k_usage, stderr);
        return 2;
    }
    /* Exact-math runs ask for --weights f32; the vision tower follows a float LLM type unless
     * told otherwise, so the image features are as exact as the rest. */
    if (!o.vision_set)
        o.vision = o.weights == SILKIE_DTYPE_F32 || o.weights == SILKIE_DTYPE_BF16 ? o.weights
                                                                                 : SILKIE_DTYPE_F16;
    o.tp.init_adapter = o.init_adapter;
    o.tp.system = o.system;
    o.tp.base_model = o.model;

    /* The data file is read before the model loads, so a wrong path costs nothing. */
    silkie_pref_reader *rd = NULL;
    silkie_pref_pair pair = {0};
    uint64_t line = 0;
    if (silkie_pref_reader_open(o.data, &rd) != SILKIE_OK) return fail("data");
    if (o.steps == 0) {
        silkie_status st = silkie_pref_reader_next(rd, &pair, &line);
        if (st != SILKIE_OK) {
            int rc = fail(st == SILKIE_ERR_END_OF_STREAM ? "data has no record" : "data");
            silkie_pref_reader_destroy(rd);
            return rc;
        }
        pair.image_dir = o.images;
    } else {
        /* A run reads (and counts the bad records of) the whole file itself. */
        silkie_pref_reader_destroy(rd);
        rd = NULL;
    }
    silkie_model_params mp;
    silkie_model_params_init(&mp);
    mp.weight_type = o.weights;
    mp.vision_type = o.vision;
    mp.device = o.device;
    mp.validation = (uint32_t)o.validate;
    mp.text_only = o.steps == 0 && pair.n_images == 0;
    silkie_model *m = NULL;
    silkie_trainer *t = NULL;
    silkie_dpo_metrics met;
    int rc = 0;
    if (silkie_model_load(o.model, &mp, &m) != SILKIE_OK) rc = fail("model");
    if (!rc && silkie_trainer_create(m, &o.tp, &t) != SILKIE_OK) rc = fail("adapter");
    if (!rc && o.steps != 0) rc = run_training(&o, t);
    else if (!rc && silkie_trainer_pair(t, &pair, 1.0f, &met) != SILKIE_OK) {
        char what[256];
        snprintf(what, sizeof what, "%s:%llu", o.data, (unsigned long long)line);
        rc = fail(what);
    }
    if (!rc && o.steps == 0) print_metrics(&met);
    if (!rc && o.steps == 0 && o.dump && silkie_trainer_write_dump(t, &met, o.dump) != SILKIE_OK)
        rc = fail("dump");
    silkie_trainer_destroy(t);
    silkie_model_destroy(m);
    silkie_pref_reader_destroy(rd);
    return rc;
}

int silkie_cmd_train(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(k_usage, stdout);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "prepare"))
        return silkie_cmd_train_prepare(argc - 1, argv + 1);
    if (argc < 2 || strcmp(argv[1], "dpo")) {
        fputs(k_usage, stderr);
        return 2;
    }
    if (argc >= 3 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
        fputs(k_usage, stdout);
        return 0;
    }
    return run_dpo(argc - 1, argv + 1);
}
