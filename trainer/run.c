/* Training runs (silkie_trainer_run): the preference data, a seeded order, gradient
 * accumulation, the optimizer and its schedule, evaluation, the run folder (log, checkpoints,
 * final adapter), resumption, and the reference log-prob cache. Everything that decides what a
 * step computes (data position, pair counter, optimizer moments) lives in the checkpoint, so a
 * resumed run repeats the uninterrupted one bit for bit on the same device and build. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define SK_LOG_MODULE "train"
#include "base/outfile.h"
#include "ref_cache.h"
#include "trainer_int.h"

#define PI 3.14159265358979323846

const char *silkie_train_skip_name(silkie_train_skip r)
{
    static const char *const n[SILKIE_TRAIN_SKIP_N_REASONS] = {"malformed", "image", "response",
                                                         "truncation"};
    return (uint32_t)r < SILKIE_TRAIN_SKIP_N_REASONS ? n[r] : "unknown";
}

void silkie_train_run_params_init_size(silkie_train_run_params *p, size_t size)
{
    silkie_train_run_params d = {0};
    d.epochs = 3.0f;
    d.batch = 1;
    d.grad_accum = 1;
    d.optim = (silkie_optim_params){.lr = 1e-5f, .beta1 = 0.9f, .beta2 = 0.98f, .eps = 1e-8f,
                                     .weight_decay = 0.05f, .max_grad_norm = 1.0f};
    d.scheduler = SILKIE_LR_COSINE;
    d.warmup_ratio = 0.1f;
    sk_params_fill(p, size, &d, sizeof d);
}

/* ---- data ----------------------------------------------------------------------------------- */

typedef struct owned_pair {
    char *prompt, *chosen, *rejected;
    char **images;
    uint32_t n_images;
    uint64_t line;
    uint64_t key; /* reference-cache key, computed at the pair's first use (0: not yet) */
} owned_pair;

typedef struct pair_set {
    owned_pair *v;
    uint64_t n, cap;
    uint64_t hash; /* content of the records, in order */
} pair_set;

static void pair_set_release(pair_set *s)
{
    for (uint64_t i = 0; i < s->n; i++) {
        owned_pair *p = &s->v[i];
        silkie_free(p->prompt);
        silkie_free(p->chosen);
        silkie_free(p->rejected);
        for (uint32_t k = 0; k < p->n_images; k++) silkie_free(p->images[k]);
        silkie_free(p->images);
    }
    silkie_free(s->v);
    memset(s, 0, sizeof *s);
}

static uint64_t hash_str(uint64_t h, const char *s)
{
    return silkie_hash64(h, s, strlen(s) + 1);
}

static silkie_status pair_set_add(pair_set *s, const silkie_pref_pair *p, uint64_t line)
{
    if (s->n == s->cap) {
        uint64_t cap = s->cap ? s->cap * 2 : 64;
        owned_pair *v = silkie_realloc(s->v, sizeof *v * cap);
        if (!v)
            return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "data: %llu pairs", (unsigned long long)cap);
        s->v = v;
        s->cap = cap;
    }
    owned_pair *o = &s->v[s->n];
    memset(o, 0, sizeof *o);
    s->n++;
    o->line = line;
    o->prompt = silkie_strdup(p->prompt);
    o->chosen = silkie_strdup(p->chosen);
    o->rejected = silkie_strdup(p->rejected);
    o->images = p->n_images ? SK_NEW_ARRAY(char *, p->n_images) : NULL;
    if (!o->prompt || !o->chosen || !o->rejected || (p->n_images && !o->images))
        return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "data: pair copy");
    for (uint32_t k = 0; k < p->n_images; k++) {
        if (!(o->images[k] = silkie_strdup(p->images[k])))
            return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "data: image name");
        o->n_images++;
        s->hash = hash_str(s->hash, p->images[k]);
    }
    s->hash = hash_str(hash_str(hash_str(s->hash, p->prompt), p->chosen), p->rejected);
    return SILKIE_OK;
}

/* Reads every record; malformed lines are counted, not fatal. */
static silkie_status load_pairs(const char *path, pair_set *out, uint64_t *malformed)
{
    silkie_pref_reader *r = NULL;
    SK_CHECK(silkie_pref_reader_open(path, &r));
    out->hash = SILKIE_HASH64_INIT;
    silkie_status st;
    for (;;) {
        silkie_pref_pair p;
        uint64_t line = 0;
        st = silkie_pref_reader_next(r, &p, &line);
        if (st == SILKIE_ERR_END_OF_STREAM) {
            st = SILKIE_OK;
            break;
        }
        if (st == SILKIE_ERR_BAD_DATA) {
            SK_LOGW("skipped: %s", silkie_last_error());
            (*malformed)++;
            continue;
        }
        if (st != SILKIE_OK) break;
        st = pair_set_add(out, &p, line);
        if (st != SILKIE_OK) break;
    }
    silkie_pref_reader_destroy(r);
    return st;
}

static uint64_t mix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Seeded Fisher-Yates: the same (seed, salt) gives the same order on every platform. */
static void shuffle(uint64_t *idx, uint64_t n, uint64_t seed, uint64_t salt)
{
    uint64_t s = seed * 0x2545f4914f6cdd1dull + salt;
    for (uint64_t i = n; i > 1; i--) {
        uint64_t j = mix64(&s) % i;
        uint64_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

/* ---- schedule ------------------------------------------------------------------------------- */

/* Learning rate of optimizer step s (0-based) as the HF schedulers give it. */
static double lr_at(const silkie_train_run_params *p, uint32_t s, uint32_t total)
{
    uint32_t warm = (uint32_t)ceil(p->warmup_ratio * total);
    double lr = p->optim.lr;
    if (s < warm) return lr * (double)s / warm;
    if (p->scheduler == SILKIE_LR_CONSTANT || total <= warm) return lr;
    double prog = (double)(s - warm) / (double)(total - warm);
    if (p->scheduler == SILKIE_LR_LINEAR) return lr * SK_MAX(0.0, 1.0 - prog);
    return lr * 0.5 * (1.0 + cos(PI * prog));
}

/* ---- run folder ----------------------------------------------------------------------------- */

typedef struct run_state {
    uint32_t step;        /* optimizer steps done */
    uint64_t position;    /* training pairs consumed (valid or skipped) */
    uint64_t model_fp, data_hash;
    uint32_t n_tensors;
    uint64_t skipped[SILKIE_TRAIN_SKIP_N_REASONS]; /* so resumed log lines count the same */
} run_state;

static silkie_status mkdir_p(const char *dir)
{
    if (mkdir(dir, 0755) == 0 || errno == EEXIST) return SILKIE_OK;
    return SK_FAIL(SILKIE_ERR_IO, "%s: cannot create (%s)", dir, strerror(errno));
}

static silkie_status fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return SK_FAIL(SILKIE_ERR_IO, "%s: cannot open (%s)", dir, strerror(errno));
    int rc = fsync(fd);
    close(fd);
    return rc == 0 ? SILKIE_OK : SK_FAIL(SILKIE_ERR_IO, "%s: fsync (%s)", dir, strerror(errno));
}

static silkie_status write_text_file(const char *path, const char *text)
{
    return silkie_outfile_write_all(path, text, strlen(text));
}

/* Empties and removes a checkpoint folder (its entries are plain files). O_NOFOLLOW: a link
 * found in its place is never followed, so the files it points at stay. */
static void remove_tree(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) unlinkat(fd, e->d_name, 0);
    closedir(d);
    rmdir(dir);
}

/* A new folder with an unpredictable name beside fin; mkdir fails on any existing entry, so
 * nothing planted there in advance is ever reused. */
static silkie_status temp_folder(const char *fin, char **out)
{
    int err = EEXIST;
    for (int attempt = 0; attempt < 32 && err == EEXIST; attempt++) {
        silkie_free(*out);
        *out = silkie_outfile_temp_name(fin);
        if (!*out) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: temporary name", fin);
        err = mkdir(*out, 0755) == 0 ? 0 : errno;
    }
    if (!err) return SILKIE_OK;
    silkie_free(*out);
    *out = NULL;
    return SK_FAIL(SILKIE_ERR_IO, "%s: cannot create a temporary folder beside it (%s)", fin,
                   strerror(err));
}

/* RUN/checkpoint-N: everything into a temporary folder, synced, then one rename. */
static silkie_status save_checkpoint(silkie_trainer *t, const char *run, const run_state *rs)
{
    char fin[4096], path[4200], text[768];
    snprintf(fin, sizeof fin, "%s/checkpoint-%u", run, rs->step);
    /* Only a folder (from an earlier attempt at this step) may be replaced; a link or anything
     * else at the name is refused and left alone. */
    struct stat sb;
    if (lstat(fin, &sb) == 0 && !S_ISDIR(sb.st_mode))
        return SK_FAIL(SILKIE_ERR_IO, "%s: is %s, not a folder; refusing to replace it", fin,
                       silkie_file_kind((uint32_t)sb.st_mode));
    char *tmp = NULL;
    SK_CHECK(temp_folder(fin, &tmp));
    silkie_status st = silkie_trainer_save_state(t, tmp);
    if (st == SILKIE_OK) {
        snprintf(path, sizeof path, "%s/trainer_state.json", tmp);
        snprintf(text, sizeof text,
                 "{\"step\": %u, \"data_position\": %llu, \"model_fingerprint\": \"%016llx\", "
                 "\"data_hash\": \"%016llx\", \"n_tensors\": %u, \"skipped_malformed\": %llu, "
                 "\"skipped_image\": %llu, \"skipped_response\": %llu, "
                 "\"skipped_truncation\": %llu}\n",
                 rs->step, (unsigned long long)rs->position, (unsigned long long)rs->model_fp,
                 (unsigned long long)rs->data_hash, rs->n_tensors,
                 (unsigned long long)rs->skipped[0], (unsigned long long)rs->skipped[1],
                 (unsigned long long)rs->skipped[2], (unsigned long long)rs->skipped[3]);
        st = write_text_file(path, text);
    }
    if (st == SILKIE_OK) st = fsync_dir(tmp);
    if (st == SILKIE_OK) {
        remove_tree(fin); /* a checkpoint of the same step from an earlier attempt */
        if (rename(tmp, fin) != 0)
            st = SK_FAIL(SILKIE_ERR_IO, "%s: cannot move the temporary folder %s over it (%s)",
                         fin, tmp, strerror(errno));
    }
    if (st == SILKIE_OK) st = fsync_dir(run);
    if (st != SILKIE_OK) remove_tree(tmp);
    silkie_free(tmp);
    return st;
}

static int read_u64_field(const char *text, const char *key, int hex, uint64_t *out)
{
    const char *p = strstr(text, key);
    if (!p) return 0;
    p += strlen(key);
    while (*p == '"' || *p == ':' || *p == ' ') p++;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(p, &end, hex ? 16 : 10);
    if (end == p || errno) return 0;
    *out = v;
    return 1;
}

/* Newest complete checkpoint of RUN: *step 0 when there is none. */
static silkie_status newest_checkpoint(const char *run, uint32_t *step)
{
    *step = 0;
    DIR *d = opendir(run);
    if (!d) return SK_FAIL(SILKIE_ERR_IO, "%s: cannot open (%s)", run, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        unsigned n = 0;
        char tail;
        if (sscanf(e->d_name, "checkpoint-%u%c", &n, &tail) == 1 && n > *step) *step = n;
    }
    closedir(d);
    return SILKIE_OK;
}

static silkie_status load_checkpoint(silkie_trainer *t, const char *run, uint32_t step,
                                     const run_state *want, run_state *got)
{
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/checkpoint-%u", run, step);
    snprintf(path, sizeof path, "%s/trainer_state.json", dir);
    FILE *f = fopen(path, "rb");
    if (!f) return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: cannot open", path);
    char text[1024];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    uint64_t v[5];
    if (!read_u64_field(text, "\"step\"", 0, &v[0]) ||
        !read_u64_field(text, "\"data_position\"", 0, &v[1]) ||
        !read_u64_field(text, "\"model_fingerprint\"", 1, &v[2]) ||
        !read_u64_field(text, "\"data_hash\"", 1, &v[3]) ||
        !read_u64_field(text, "\"n_tensors\"", 0, &v[4]) || v[0] != step)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: unreadable trainer state", path);
    if (v[2] != want->model_fp)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: checkpoint of another base model (or another "
                                            "--weights type); refusing to resume", dir);
    if (v[3] != want->data_hash)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: checkpoint of another data file; refusing to "
                                            "resume", dir);
    if (v[4] != want->n_tensors)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: checkpoint of another adapter shape; refusing "
                                            "to resume", dir);
    SK_CHECK(silkie_trainer_load_state(t, dir));
    if (silkie_trainer_n_steps(t) != step)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: optimizer step %u, folder says %u", dir,
                       silkie_trainer_n_steps(t), step);
    *got = *want;
    got->step = step;
    got->position = v[1];
    static const char *const keys[SILKIE_TRAIN_SKIP_N_REASONS] = {
        "\"skipped_malformed\"", "\"skipped_image\"", "\"skipped_response\"",
        "\"skipped_truncation\""};
    for (int i = 0; i < SILKIE_TRAIN_SKIP_N_REASONS; i++)
        if (!read_u64_field(text, keys[i], 0, &got->skipped[i]))
            return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: unreadable trainer state", path);
    return SILKIE_OK;
}

/* log.jsonl must be missing or a regular file: anything else is refused before it is opened (a
 * device is not opened at all), and the open itself neither follows a link nor waits on a FIFO
 * that appears in between (O_NOFOLLOW, O_NONBLOCK; fstat rechecks). Returns an open fd, -1 with
 * *st OK when the file is missing (only without O_CREAT), or -1 with *st set. */
static int open_log_fd(const char *path, int flags, silkie_status *st)
{
    *st = SILKIE_OK;
    struct stat sb;
    if (lstat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        *st = SK_FAIL(SILKIE_ERR_IO, "%s: is %s, not a regular file; refusing to use it", path,
                      silkie_file_kind((uint32_t)sb.st_mode));
        return -1;
    }
    int fd = open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0666);
    if (fd < 0 && errno == ENOENT && !(flags & O_CREAT)) return -1;
    if (fd < 0) {
        *st = SK_FAIL(SILKIE_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &sb) != 0)
        *st = SK_FAIL(SILKIE_ERR_IO, "%s: cannot check (%s)", path, strerror(errno));
    else if (!S_ISREG(sb.st_mode))
        *st = SK_FAIL(SILKIE_ERR_IO, "%s: is %s, not a regular file; refusing to use it", path,
                      silkie_file_kind((uint32_t)sb.st_mode));
    if (*st != SILKIE_OK) {
        close(fd);
        return -1;
    }
    (void)fcntl(fd, F_SETFL, flags & O_APPEND); /* back to blocking writes */
    return fd;
}

/* The log opened for appending (created when missing). */
static silkie_status open_log(const char *path, FILE **out)
{
    silkie_status st;
    int fd = open_log_fd(path, O_WRONLY | O_APPEND | O_CREAT, &st);
    if (fd < 0) return st;
    *out = fdopen(fd, "ab");
    if (*out) return SILKIE_OK;
    st = SK_FAIL(SILKIE_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
    close(fd);
    return st;
}

/* Keeps the log lines of steps <= step (a resumed run rewrites the rest identically). */
static silkie_status trim_log(const char *path, uint32_t step)
{
    silkie_status st;
    int fd = open_log_fd(path, O_RDONLY, &st);
    if (fd < 0) return st; /* OK when there is no log yet */
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return SK_FAIL(SILKIE_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
    }
    char *keep = NULL, *line = NULL;
    size_t klen = 0, cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        uint64_t s = 0;
        if (line[n - 1] != '\n' || !read_u64_field(line, "\"step\"", 0, &s) || s > step) continue;
        char *k = silkie_realloc(keep, klen + (size_t)n + 1);
        if (!k) {
            st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "log: %zu bytes", klen);
            break;
        }
        keep = k;
        memcpy(keep + klen, line, (size_t)n);
        klen += (size_t)n;
        keep[klen] = 0;
    }
    free(line);
    fclose(f);
    if (st == SILKIE_OK) st = write_text_file(path, keep ? keep : "");
    silkie_free(keep);
    return st;
}

static silkie_status append_line(FILE *f, const char *path, const char *line)
{
    if (fputs(line, f) < 0 || fflush(f) != 0)
        return SK_FAIL(SILKIE_ERR_IO, "%s: cannot append (%s)", path, strerror(errno));
    return SILKIE_OK;
}

/* ---- steps ---------------------------------------------------------------------------------- */

typedef struct step_sums {
    uint32_t n;
    uint64_t tokens;
    double loss, rc, rr, acc, margin, pc, pr, lc, lr_;
} step_sums;

static void sums_add(step_sums *s, const silkie_dpo_metrics *m)
{
    s->n++;
    s->tokens += (uint64_t)m->chosen_tokens + m->rejected_tokens;
    s->loss += m->loss;
    s->rc += m->chosen_rewards;
    s->rr += m->rejected_rewards;
    s->acc += m->chosen_rewards > m->rejected_rewards ? 1.0 : 0.0;
    s->margin += m->chosen_rewards - m->rejected_rewards;
    s->pc += m->policy_chosen_logps;
    s->pr += m->policy_rejected_logps;
    s->lc += m->policy_chosen_mean_logit;
    s->lr_ += m->policy_rejected_mean_logit;
}

/* TRL's metric names; "eval_" prefix for evaluations. 17 digits read back bit-exact. */
static void format_metrics(char *buf, size_t cap, const char *pre, const step_sums *s,
                           uint32_t step, double epoch)
{
    const double n = s->n ? s->n : 1;
    snprintf(buf, cap,
             "{\"step\": %u, \"epoch\": %.17g, \"%sloss\": %.17g, \"%srewards/chosen\": %.17g, "
             "\"%srewards/rejected\": %.17g, \"%srewards/accuracies\": %.17g, "
             "\"%srewards/margins\": %.17g, \"%slogps/chosen\": %.17g, \"%slogps/rejected\": "
             "%.17g, \"%slogits/chosen\": %.17g, \"%slogits/rejected\": %.17g",
             step, epoch, pre, s->loss / n, pre, s->rc / n, pre, s->rr / n, pre, s->acc / n, pre,
             s->margin / n, pre, s->pc / n, pre, s->pr / n, pre, s->lc / n, pre, s->lr_ / n);
}

typedef struct run_ctx {
    silkie_trainer *t;
    const silkie_train_run_params *p;
    silkie_train_summary *sum;
    silkie_ref_cache cache;
    uint64_t model_fp;
    uint32_t layout_key;
} run_ctx;

/* Reads the pair's images: computed once per pair and run, not per step. */
static uint64_t pair_key(const run_ctx *r, const owned_pair *o, const char *image_dir)
{
    uint64_t h = silkie_hash64(SILKIE_HASH64_INIT, &r->model_fp, sizeof r->model_fp);
    h = silkie_hash64(h, &r->layout_key, sizeof r->layout_key);
    h = hash_str(hash_str(hash_str(h, o->prompt), o->chosen), o->rejected);
    for (uint32_t k = 0; k < o->n_images; k++) {
        h = hash_str(h, o->images[k]);
        /* The image bytes are part of the pair: a replaced file is a miss, never stale. */
        char path[4096];
        snprintf(path, sizeof path, "%s%s%s", image_dir ? image_dir : "", image_dir ? "/" : "",
                 o->images[k]);
        FILE *f = fopen(path, "rb");
        uint8_t buf[65536];
        size_t n;
        while (f && (n = fread(buf, 1, sizeof buf, f)) > 0) h = silkie_hash64(h, buf, n);
        if (f) fclose(f);
    }
    return h;
}

/* Evaluates (grad_scale 0) or trains on one pair; classifies failures that are the data's. */
static silkie_status one_pair(run_ctx *r, owned_pair *o, float grad_scale,
                              silkie_dpo_metrics *m, int *skipped)
{
    *skipped = -1;
    const silkie_pref_pair pair = {.prompt = o->prompt, .chosen = o->chosen,
                                   .rejected = o->rejected,
                                   .images = (const char *const *)o->images,
                                   .n_images = o->n_images, .image_dir = r->p->images};
    if (!o->chosen[0] || !o->rejected[0] || !strcmp(o->chosen, o->rejected)) {
        *skipped = SILKIE_TRAIN_SKIP_RESPONSE;
        return SILKIE_OK;
    }
    if (!o->key) o->key = pair_key(r, o, r->p->images) | 1; /* never 0 */
    const uint64_t key = o->key;
    double ref[2];
    const int hit = silkie_ref_cache_get(&r->cache, key, ref);
    silkie_status st = silkie_trainer_pair_ref(r->t, &pair, hit ? ref : NULL, grad_scale, m);
    if (st == SILKIE_ERR_BAD_IMAGE || st == SILKIE_ERR_IO) *skipped = SILKIE_TRAIN_SKIP_IMAGE;
    else if (st == SILKIE_ERR_BAD_DATA) *skipped = SILKIE_TRAIN_SKIP_TRUNCATION;
    else if (st == SILKIE_ERR_BAD_TEXT) *skipped = SILKIE_TRAIN_SKIP_MALFORMED; /* image ref */
    if (*skipped >= 0) {
        SK_LOGW("line %llu skipped: %s", (unsigned long long)o->line, silkie_last_error());
        return SILKIE_OK;
    }
    if (st == SILKIE_OK && !hit) {
        ref[0] = m->reference_chosen_logps;
        ref[1] = m->reference_rejected_logps;
        st = silkie_ref_cache_put(&r->cache, key, ref);
    }
    return st;
}

static silkie_status evaluate(run_ctx *r, const pair_set *ev, step_sums *s)
{
    memset(s, 0, sizeof *s);
    for (uint64_t i = 0; i < ev->n; i++) {
        if (atomic_load(&r->t->cancel))
            return SK_FAIL(SILKIE_ERR_CANCELLED, "train: cancelled during evaluation");
        silkie_dpo_metrics m;
        int skipped;
        SK_CHECK(one_pair(r, &ev->v[i], 0.0f, &m, &skipped));
        if (skipped < 0) sums_add(s, &m);
    }
    return SILKIE_OK;
}

static silkie_status log_eval(run_ctx *r, const pair_set *ev, FILE *log, const char *log_path,
                              uint32_t step, double epoch)
{
    step_sums s;
    SK_CHECK(evaluate(r, ev, &s));
    if (!s.n) return SILKIE_OK;
    char line[2048];
    format_metrics(line, sizeof line - 8, "eval_", &s, step, epoch);
    strcat(line, "}\n");
    r->sum->eval_loss = s.loss / s.n;
    r->sum->eval_accuracy = s.acc / s.n;
    if (r->p->on_progress) {
        silkie_train_progress pr = {.step = step, .epoch = epoch, .loss = s.loss / s.n,
                                    .accuracy = s.acc / s.n, .is_eval = 1};
        memcpy(pr.skipped, r->sum->skipped, sizeof pr.skipped);
        r->p->on_progress(&pr, r->p->user);
    }
    return append_line(log, log_path, line);
}

static silkie_status check_run_params(const silkie_train_run_params *p)
{
    if (!p->data || !p->out_dir)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "train_run: data and out_dir are required");
    if (!p->batch || !p->grad_accum || p->batch > 4096 || p->grad_accum > 65536)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "train_run: batch and grad_accum must be >= 1");
    if (!p->steps && !(p->epochs > 0 && p->epochs <= 1e6))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "train_run: steps or epochs > 0 required");
    if (!(p->eval_split >= 0 && p->eval_split < 1) ||
        !(p->warmup_ratio >= 0 && p->warmup_ratio <= 1))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "train_run: eval_split in [0, 1), "
                                                    "warmup_ratio in [0, 1]");
    if ((uint32_t)p->scheduler > SILKIE_LR_CONSTANT)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "train_run: scheduler %d", (int)p->scheduler);
    return SILKIE_OK;
}

/* Splits `all` into train and eval by a seeded draw when no eval file is given. */
static silkie_status split(const silkie_train_run_params *p, pair_set *all, pair_set *train,
                           pair_set *ev)
{
    if (p->eval_data || p->eval_split <= 0) {
        *train = *all;
        memset(all, 0, sizeof *all);
        return SILKIE_OK;
    }
    uint64_t n_eval = (uint64_t)ceil(p->eval_split * (double)all->n);
    if (n_eval >= all->n) n_eval = all->n - 1;
    uint64_t *idx = SK_NEW_ARRAY(uint64_t, all->n);
    if (!idx) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "split");
    for (uint64_t i = 0; i < all->n; i++) idx[i] = i;
    shuffle(idx, all->n, p->seed, 0x5eedull);
    train->hash = ev->hash = all->hash;
    silkie_status st = SILKIE_OK;
    for (uint64_t i = 0; i < all->n && st == SILKIE_OK; i++) {
        const owned_pair *o = &all->v[idx[i]];
        const silkie_pref_pair pp = {.prompt = o->prompt, .chosen = o->chosen,
                                     .rejected = o->rejected,
                                     .images = (const char *const *)o->images,
                                     .n_images = o->n_images};
        st = pair_set_add(i < n_eval ? ev : train, &pp, o->line);
    }
    train->hash = ev->hash = all->hash;
    silkie_free(idx);
    return st;
}

static silkie_status run_steps(run_ctx *r, const pair_set *train, const pair_set *ev,
                               run_state *rs, uint32_t total, FILE *log, const char *log_path)
{
    const silkie_train_run_params *p = r->p;
    const uint32_t per_step = p->batch * p->grad_accum;
    const uint64_t n = train->n;
    uint64_t *order = SK_NEW_ARRAY(uint64_t, n);
    if (!order) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "order of %llu pairs",
                               (unsigned long long)n);
    uint64_t order_epoch = UINT64_MAX, tokens = 0;
    const uint64_t t0 = silkie_time_ns();
    const uint32_t first_step = rs->step;
    silkie_status st = SILKIE_OK;
    while (st == SILKIE_OK && rs->step < total) {
        step_sums s = {0};
        uint64_t tried = 0;
        while (st == SILKIE_OK && s.n < per_step) {
            if (atomic_load(&r->t->cancel)) {
                st = SK_FAIL(SILKIE_ERR_CANCELLED, "train: cancelled at step %u", rs->step + 1);
                break;
            }
            if (++tried > n) {
                st = SK_FAIL(SILKIE_ERR_BAD_DATA, "train: no usable pair in a whole epoch");
                break;
            }
            uint64_t e = rs->position / n, i = rs->position % n;
            if (e != order_epoch) {
                for (uint64_t k = 0; k < n; k++) order[k] = k;
                shuffle(order, n, p->seed, e + 1);
                order_epoch = e;
            }
            silkie_dpo_metrics m;
            int skipped;
            st = one_pair(r, &train->v[order[i]], 1.0f / (float)per_step, &m, &skipped);
            rs->position++;
            if (st != SILKIE_OK) break;
            if (skipped >= 0) {
                r->sum->skipped[skipped]++;
                continue;
            }
            sums_add(&s, &m);
        }
        if (st != SILKIE_OK) break;
        silkie_optim_params o = p->optim;
        o.lr = (float)lr_at(p, rs->step, total);
        double gnorm = 0;
        st = silkie_trainer_step(r->t, &o, &gnorm);
        if (st != SILKIE_OK) break;
        rs->step++;
        tokens += s.tokens;
        const double epoch = (double)rs->position / (double)n;
        char line[2048];
        format_metrics(line, sizeof line - 256, "", &s, rs->step, epoch);
        const uint64_t *sk = r->sum->skipped;
        snprintf(line + strlen(line), 256,
                 ", \"grad_norm\": %.17g, \"learning_rate\": %.17g, \"skipped/malformed\": %llu, "
                 "\"skipped/image\": %llu, \"skipped/response\": %llu, "
                 "\"skipped/truncation\": %llu}\n",
                 gnorm, (double)o.lr, (unsigned long long)sk[0], (unsigned long long)sk[1],
                 (unsigned long long)sk[2], (unsigned long long)sk[3]);
        memcpy(rs->skipped, sk, sizeof rs->skipped);
        st = append_line(log, log_path, line);
        r->sum->last_loss = s.loss / s.n;
        r->sum->steps = rs->step;
        if (p->on_progress) {
            double el = (silkie_time_ns() - t0) / 1e9;
            uint32_t done = rs->step - first_step;
            silkie_train_progress pr = {.step = rs->step, .total_steps = total, .epoch = epoch,
                                        .loss = s.loss / s.n, .accuracy = s.acc / s.n,
                                        .tokens_per_s = el > 0 ? tokens / el : 0,
                                        .eta_s = done ? el / done * (total - rs->step) : 0};
            memcpy(pr.skipped, r->sum->skipped, sizeof pr.skipped);
            p->on_progress(&pr, p->user);
        }
        const int last = rs->step == total;
        if (st == SILKIE_OK && ev->n && (last || (p->eval_every && rs->step % p->eval_every == 0)))
            st = log_eval(r, ev, log, log_path, rs->step, epoch);
        if (st == SILKIE_OK && (last || (p->save_every && rs->step % p->save_every == 0)))
            st = save_checkpoint(r->t, p->out_dir, rs);
    }
    silkie_free(order);
    return st;
}

silkie_status silkie_trainer_run(silkie_trainer *t, const silkie_train_run_params *params,
                                 silkie_train_summary *out)
{
    silkie_error_clear();
    if (!t || !params || !out)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "train_run: t, params, out required");
    silkie_train_run_params p;
    silkie_train_run_params_init(&p);
    if (params->struct_size < 8)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "train_run: struct_size unset");
    memcpy(&p, params, SK_MIN((size_t)params->struct_size, sizeof p));
    SK_CHECK(check_run_params(&p));
    memset(out, 0, sizeof *out);
    out->eval_loss = out->eval_accuracy = NAN;
    atomic_store(&t->cancel, 0);

    pair_set all = {0}, train = {0}, ev = {0};
    uint64_t malformed = 0;
    silkie_status st = load_pairs(p.data, &all, &malformed);
    if (st == SILKIE_OK && p.eval_data) st = load_pairs(p.eval_data, &ev, &malformed);
    out->skipped[SILKIE_TRAIN_SKIP_MALFORMED] = malformed;
    if (st == SILKIE_OK && all.n == 0)
        st = SK_FAIL(SILKIE_ERR_BAD_DATA, "%s: no usable record (%llu malformed)", p.data,
                     (unsigned long long)malformed);
    if (st == SILKIE_OK) st = split(&p, &all, &train, &ev);
    pair_set_release(&all);
    out->pairs_train = train.n;
    out->pairs_eval = ev.n;

    run_ctx r = {.t = t, .p = &p, .sum = out, .layout_key = (uint32_t)t->p.layout};
    run_state rs = {.n_tensors = t->n_tensors, .data_hash = train.hash};
    FILE *log = NULL;
    char log_path[4096];
    snprintf(log_path, sizeof log_path, "%s/log.jsonl", p.out_dir);
    if (st == SILKIE_OK) st = mkdir_p(p.out_dir);
    if (st == SILKIE_OK) st = silkie_trainer_model_fingerprint(t, &r.model_fp);
    rs.model_fp = r.model_fp;
    if (st == SILKIE_OK) {
        char cache_path[4200];
        snprintf(cache_path, sizeof cache_path, "%s/ref_cache.bin", p.out_dir);
        st = silkie_ref_cache_open(&r.cache, cache_path);
    }
    uint32_t from = 0;
    if (st == SILKIE_OK && p.resume) st = newest_checkpoint(p.out_dir, &from);
    if (st == SILKIE_OK && from) {
        run_state want = rs;
        st = load_checkpoint(t, p.out_dir, from, &want, &rs);
        memcpy(out->skipped, rs.skipped, sizeof out->skipped);
        out->resumed_from = from;
        SK_LOGI("resuming from %s/checkpoint-%u", p.out_dir, from);
    }
    if (st == SILKIE_OK && !from) st = silkie_trainer_zero_grad(t);
    if (st == SILKIE_OK) st = trim_log(log_path, rs.step);
    if (st == SILKIE_OK) st = open_log(log_path, &log);
    const uint32_t per_step = p.batch * p.grad_accum;
    uint32_t total = p.steps;
    if (st == SILKIE_OK && !total) {
        double t_steps = ceil(p.epochs * (double)train.n / per_step);
        total = (uint32_t)SK_MAX(1.0, SK_MIN(t_steps, 4e9));
    }
    out->steps = rs.step;
    if (st == SILKIE_OK) st = run_steps(&r, &train, &ev, &rs, total, log, log_path);
    if (st == SILKIE_OK) {
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/adapter", p.out_dir);
        st = mkdir_p(dir);
        if (st == SILKIE_OK) st = silkie_trainer_save_adapter(t, dir);
    }
    if (log && fclose(log) != 0 && st == SILKIE_OK)
        st = SK_FAIL(SILKIE_ERR_IO, "%s: cannot close", log_path);
    silkie_ref_cache_close(&r.cache);
    pair_set_release(&train);
    pair_set_release(&ev);
    return st;
}
