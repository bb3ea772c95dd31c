/* `silkie train dpo`: preference fine-tuning of a LoRA adapter (silkie_train.h).
 * --steps 0 evaluates the first pair without an update and can dump every tensor of the step
 * for verification against a reference implementation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "silkie/silkie_train.h"

typedef struct train_opts {
    const char *model, *init_adapter, *data, *images, *dump, *device, *system;
    const char *layout, *loss, *scheduler;
    silkie_dtype weights, vision, kv;
    int validate, resume, quiet;
    int64_t steps; /* -1: not given (train by epochs) */
    silkie_train_params tp;
    silkie_train_run_params rp;
} train_opts;

#define DTYPES "f32|f16|bf16|q8_0|q4_0"
#define NO_VISION_TYPE SILKIE_DTYPE_MAX_ /* --vision-weights not given */

/* Names in enum order: the index is the value. */
static const char *const k_layouts[] = {"plain", "silkie"};
static const char *const k_losses[] = {"sigmoid", "ipo", "hinge", "robust"};
static const char *const k_schedulers[] = {"cosine", "linear", "constant"};

static const char k_notes[] =
    "Modes:\n"
    "  with --out RUN   train, writing RUN/log.jsonl, checkpoints and RUN/adapter\n"
    "  --steps 0        evaluate the first pair and its gradients only (no run folder);\n"
    "                   --dump writes every tensor of that step\n"
    "Preference pairs from VLFeedback: `silkie train prepare --help`.\n";

static int index_of(const char *const *names, int n, const char *v)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], v)) return i;
    return 0; /* unreachable: the parser checked the choice */
}

/* The option names and meanings are a contract (scripts and docs use them); grouped as the help
 * shows them: data and model, adapter, loss, optimizer and schedule, run folder. */
static int parse(int argc, char **argv, train_opts *o)
{
    o->layout = k_layouts[o->tp.layout];
    o->loss = k_losses[o->tp.loss];
    o->scheduler = k_schedulers[o->rp.scheduler];
    const silkie_opt t[] = {
        {"--model", SILKIE_OPT_STR, &o->model, "DIR|FILE.gguf",
         "base model folder (Hugging Face layout) or packed GGUF file", NULL, 0, 0,
         SILKIE_OPT_REQUIRED | SILKIE_OPT_IN_PATH, NULL},
        {"--data", SILKIE_OPT_STR, &o->data, "PAIRS.jsonl",
         "preference pairs, one JSON object a line (`silkie train prepare` writes them)", NULL,
         0, 0, SILKIE_OPT_REQUIRED | SILKIE_OPT_IN_FILE, NULL},
        {"--images", SILKIE_OPT_STR, &o->images, "DIR", "folder the pairs' image names are in",
         "names as written", 0, 0, SILKIE_OPT_IN_DIR, NULL},
        {"--out", SILKIE_OPT_STR, &o->rp.out_dir, "RUN",
         "run folder: log.jsonl, checkpoints, adapter (needed to train)", "none", 0, 0,
         SILKIE_OPT_OUT_DIR, NULL},
        {"--resume", SILKIE_OPT_FLAG, &o->resume, NULL,
         "continue from RUN's newest complete checkpoint", NULL, 0, 0, 0, NULL},
        {"--steps", SILKIE_OPT_I64, &o->steps, "N",
         "optimizer steps; 0 = evaluate the first pair only", "from --epochs", 0, 100000000, 0,
         NULL},
        {"--epochs", SILKIE_OPT_F32, &o->rp.epochs, "E", "passes over the data (without --steps)",
         NULL, 1e-6, 1e6, 0, NULL},
        {"--dump", SILKIE_OPT_STR, &o->dump, "OUT.safetensors",
         "with --steps 0: write every tensor of the step (verification)", "none", 0, 0,
         SILKIE_OPT_OUT_FILE, NULL},
        {"--eval-data", SILKIE_OPT_STR, &o->rp.eval_data, "FILE", "held-out pairs to evaluate",
         "none", 0, 0, SILKIE_OPT_IN_FILE, NULL},
        {"--eval-split", SILKIE_OPT_F32, &o->rp.eval_split, "F",
         "fraction of --data held out for evaluation (without --eval-data)", NULL, 0, 0.99, 0,
         NULL},
        {"--eval-every", SILKIE_OPT_U32, &o->rp.eval_every, "K",
         "evaluate every K steps, 0 = at the end only", NULL, 0, 100000000, 0, NULL},
        {"--save-every", SILKIE_OPT_U32, &o->rp.save_every, "K",
         "checkpoint every K steps, 0 = at the end only", NULL, 0, 100000000, 0, NULL},
        {"--seed", SILKIE_OPT_U64, &o->tp.seed, "S",
         "adapter initialisation, dropout masks, shuffling and the split", NULL, 0, 2147483647,
         0, NULL},
        {"--system", SILKIE_OPT_STR, &o->system, "TEXT", "system prompt of the chat layout",
         "\"You are a helpful assistant.\"", 0, 0, 0, NULL},
        {"--layout", SILKIE_OPT_CHOICE, &o->layout, NULL,
         "chat layout of the sequences: plain ChatML or Silkie's collator", NULL, 0, 0, 0,
         "plain|silkie"},
        {"--max-prompt", SILKIE_OPT_U32, &o->tp.max_prompt_tokens, "N",
         "a pair too long keeps the last N tokens of its prompt (below --max-length)", NULL, 1,
         1 << 20, 0, NULL},
        {"--max-length", SILKIE_OPT_U32, &o->tp.max_total_tokens, "N",
         "most tokens of prompt + the longer answer", NULL, 2, 1 << 20, 0, NULL},
        {"--init-adapter", SILKIE_OPT_STR, &o->init_adapter, "DIR",
         "start from this PEFT adapter", "a new adapter with Silkie's recipe", 0, 0,
         SILKIE_OPT_IN_DIR, NULL},
        {"--lora-r", SILKIE_OPT_U32, &o->tp.lora_r, "R", "new adapter: rank", NULL, 1, 4096, 0,
         NULL},
        {"--lora-alpha", SILKIE_OPT_F32, &o->tp.lora_alpha, "A", "new adapter: alpha", NULL,
         1e-6, 1e6, 0, NULL},
        {"--lora-targets", SILKIE_OPT_STR, &o->tp.lora_targets, "LIST|REGEX",
         "new adapter: modules that get LoRA matrices", NULL, 0, 0, 0, NULL},
        {"--lora-dropout", SILKIE_OPT_F32, &o->tp.lora_dropout, "P", "dropout on LoRA inputs",
         "the adapter's, or 0.05", 0, 0.999, 0, NULL},
        {"--loss", SILKIE_OPT_CHOICE, &o->loss, NULL, "DPO loss", NULL, 0, 0, 0,
         "sigmoid|ipo|hinge|robust"},
        {"--beta", SILKIE_OPT_F32, &o->tp.beta, "B", "DPO beta (strength of the reference)",
         NULL, 1e-6, 1e6, 0, NULL},
        {"--label-smoothing", SILKIE_OPT_F32, &o->tp.label_smoothing, "E",
         "assumed label noise (sigmoid and robust losses)", NULL, 0, 0.499, 0, NULL},
        {"--batch", SILKIE_OPT_U32, &o->rp.batch, "B", "pairs per micro-batch", NULL, 1, 4096, 0,
         NULL},
        {"--grad-accum", SILKIE_OPT_U32, &o->rp.grad_accum, "K",
         "micro-batches per optimizer step", NULL, 1, 4096, 0, NULL},
        {"--lr", SILKIE_OPT_F32, &o->rp.optim.lr, "LR", "peak learning rate (AdamW)", NULL, 0, 10,
         0, NULL},
        {"--lr-scheduler", SILKIE_OPT_CHOICE, &o->scheduler, NULL,
         "learning-rate decay after the warm-up", NULL, 0, 0, 0, "cosine|linear|constant"},
        {"--warmup-ratio", SILKIE_OPT_F32, &o->rp.warmup_ratio, "R",
         "fraction of the steps spent warming up linearly", NULL, 0, 1, 0, NULL},
        {"--weight-decay", SILKIE_OPT_F32, &o->rp.optim.weight_decay, "W", "AdamW weight decay",
         NULL, 0, 10, 0, NULL},
        {"--adam-beta1", SILKIE_OPT_F32, &o->rp.optim.beta1, "B", "AdamW first-moment decay",
         NULL, 0, 0.999999, 0, NULL},
        {"--adam-beta2", SILKIE_OPT_F32, &o->rp.optim.beta2, "B", "AdamW second-moment decay",
         NULL, 0, 0.999999, 0, NULL},
        {"--max-grad-norm", SILKIE_OPT_F32, &o->rp.optim.max_grad_norm, "N",
         "clip the global gradient norm to N, 0 = off", NULL, 0, 1e9, 0, NULL},
        {"--quiet", SILKIE_OPT_FLAG, &o->quiet, NULL, "no progress line on standard error", NULL,
         0, 0, 0, NULL},
        {"--weights", SILKIE_OPT_DTYPE, &o->weights, NULL,
         "type of the base model's LLM weights on the device (f32 for exact math)", NULL, 0, 0,
         0, DTYPES},
        {"--vision-weights", SILKIE_OPT_DTYPE, &o->vision, NULL,
         "type of the vision tower's weights on the device",
         "--weights when f32 or bf16, else f16", 0, 0, 0, DTYPES},
        {"--kv", SILKIE_OPT_DTYPE, &o->kv, "f16|f32",
         "accepted and checked like ask's; training keeps no KV cache", NULL, 0, 0, 0,
         "f16|f32"},
        {"--device", SILKIE_OPT_STR, &o->device, "GPU",
         "Vulkan device: index or name substring (see `silkie devices`)", "the best device", 0,
         0, 0, NULL},
        {"--validate", SILKIE_OPT_FLAG, &o->validate, NULL,
         "turn on the Vulkan validation layer (slow; for debugging drivers)", NULL, 0, 0, 0,
         NULL},
    };
    const silkie_cmd_spec spec = {
        "silkie train dpo", "",
        "Preference fine-tuning (DPO) of a LoRA adapter on Qwen-VL-Chat; with --steps 0 it "
        "evaluates one pair instead, for verification against a reference implementation.",
        t, sizeof t / sizeof t[0], 0, 0, k_notes};
    int rc = silkie_cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc != SILKIE_CLI_CONTINUE) return rc;
    o->tp.layout = (silkie_chat_layout)index_of(k_layouts, 2, o->layout);
    o->tp.loss = (silkie_dpo_loss)index_of(k_losses, 4, o->loss);
    o->rp.scheduler = (silkie_lr_scheduler)index_of(k_schedulers, 3, o->scheduler);
    o->rp.resume = (uint32_t)o->resume;
    if (o->steps != 0 && !o->rp.out_dir)
        return silkie_cli_usage_error(&spec, "--out RUN is required to train (--steps 0 "
                                             "evaluates)");
    if (o->steps == 0 && (o->rp.out_dir || o->rp.resume))
        return silkie_cli_usage_error(&spec, "--steps 0 evaluates one pair; it writes no run "
                                             "folder");
    if (o->steps != 0 && o->dump)
        return silkie_cli_usage_error(&spec, "--dump goes with --steps 0");
    if (o->tp.max_prompt_tokens >= o->tp.max_total_tokens)
        return silkie_cli_usage_error(&spec, "--max-prompt must be below --max-length");
    return SILKIE_CLI_CONTINUE;
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
    train_opts o = {.weights = SILKIE_DTYPE_F16,
                    .vision = NO_VISION_TYPE,
                    .kv = SILKIE_DTYPE_F16,
                    .steps = -1};
    silkie_train_params_init(&o.tp);
    silkie_train_run_params_init(&o.rp);
    int prc = parse(argc, argv, &o);
    if (prc != SILKIE_CLI_CONTINUE) return prc;
    /* Exact-math runs ask for --weights f32; the vision tower follows a float LLM type unless
     * told otherwise, so the image features are as exact as the rest. */
    if (o.vision == NO_VISION_TYPE)
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
    if (argc >= 2 && !strcmp(argv[1], "dpo")) return run_dpo(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "prepare"))
        return silkie_cmd_train_prepare(argc - 1, argv + 1);
    const silkie_cmd_spec spec = {
        "silkie train", "dpo|prepare ...",
        "LoRA fine-tuning: `silkie train dpo` trains an adapter on preference pairs, `silkie "
        "train prepare` makes the pairs from VLFeedback data. Each answers --help.",
        NULL, 0, 1, 1, NULL};
    const char *pos[1] = {NULL};
    int rc = silkie_cli_parse(&spec, argc, argv, pos, NULL);
    if (rc != SILKIE_CLI_CONTINUE) return rc;
    return silkie_cli_usage_error(&spec, "unknown subcommand '%s'", pos[0]);
}
