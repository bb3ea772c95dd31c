/* A restricted pickle machine: just enough of the protocol to rebuild a torch state dict, and
 * nothing that could run code. Globals come from a whitelist, REDUCE applies only whitelisted
 * callables, and the stack, mark stack and memo are bounded. Values live in an arena that is
 * freed in one go; nothing recurses over values, so nesting depth cannot exhaust the C stack. */
#include <stdio.h>

#include "files_int.h"

#define MAX_STACK (1u << 20)
#define MAX_MARKS 1024u
#define MAX_MEMO (1u << 20)
#define ARENA_CHUNK ((size_t)64 << 10)

typedef enum vkind {
    V_NONE, V_BOOL, V_INT, V_FLOAT, V_STR, V_TUPLE, V_LIST, V_DICT, V_GLOBAL, V_STORAGE, V_TENSOR
} vkind;

typedef enum gkind { G_REBUILD_V2, G_ORDERED_DICT, G_STORAGE } gkind;

typedef struct pv pv;
typedef struct pv_node {
    pv *a, *b; /* list item, or dict key and value */
    struct pv_node *next;
} pv_node;

struct pv {
    vkind k;
    union {
        int64_t i;
        double f;
        struct { const char *p; uint32_t n; } s;
        struct { pv **items; uint32_t n; } t;
        struct { pv_node *head, *tail; uint32_t n; } l;
        struct { gkind g; silkie_dtype dt; } g;
        struct { silkie_dtype dt; const char *key; uint32_t key_len; uint64_t numel; } st;
        sk_pkl_tensor *tensor;
    } u;
};

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
} chunk;

typedef struct vm {
    const uint8_t *buf;
    size_t size, pos;
    const char *what;
    chunk *arena;
    pv **stack;
    uint32_t sp, stack_cap;
    uint32_t marks[MAX_MARKS];
    uint32_t n_marks;
    pv **memo;
    uint32_t memo_cap, memo_next;
} vm;

static void *arena_alloc(vm *m, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (!m->arena || m->arena->cap - m->arena->used < n) {
        size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        chunk *c = silkie_malloc(sizeof(chunk) + 16 + cap);
        if (!c) return NULL;
        c->cap = cap;
        c->used = 0;
        /* Keep the current chunk on top when a big one-off allocation comes in. */
        if (m->arena && n > ARENA_CHUNK) {
            c->next = m->arena->next;
            m->arena->next = c;
            c->used = n;
            return (uint8_t *)(c + 1) + 16 - ((uintptr_t)(c + 1) & 15);
        }
        c->next = m->arena;
        m->arena = c;
    }
    uint8_t *base = (uint8_t *)(m->arena + 1);
    base += (16 - ((uintptr_t)base & 15)) & 15;
    void *p = base + m->arena->used;
    m->arena->used += n;
    return p;
}

static void arena_free(chunk *c)
{
    while (c) {
        chunk *n = c->next;
        silkie_free(c);
        c = n;
    }
}

static void op_name(uint8_t op, char buf[8])
{
    if (op >= 0x20 && op < 0x7f) snprintf(buf, 8, "'%c'", op);
    else snprintf(buf, 8, "0x%02x", op);
}

static silkie_status oom(vm *m) { return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: pickle", m->what); }

static silkie_status bad(vm *m, const char *why)
{
    return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: pickle byte %zu: %s", m->what, m->pos, why);
}

static pv *new_val(vm *m, vkind k)
{
    pv *v = arena_alloc(m, sizeof *v);
    if (v) {
        memset(v, 0, sizeof *v);
        v->k = k;
    }
    return v;
}

static silkie_status push(vm *m, pv *v)
{
    if (!v) return oom(m);
    if (m->sp == m->stack_cap) {
        if (m->stack_cap >= MAX_STACK) return bad(m, "stack deeper than the limit");
        uint32_t cap = m->stack_cap ? m->stack_cap * 2 : 64;
        pv **s = silkie_realloc(m->stack, cap * sizeof *s);
        if (!s) return oom(m);
        m->stack = s;
        m->stack_cap = cap;
    }
    m->stack[m->sp++] = v;
    return SILKIE_OK;
}

static pv *pop(vm *m)
{
    uint32_t floor = m->n_marks ? m->marks[m->n_marks - 1] : 0;
    return m->sp > floor ? m->stack[--m->sp] : NULL;
}

static pv *top(vm *m)
{
    uint32_t floor = m->n_marks ? m->marks[m->n_marks - 1] : 0;
    return m->sp > floor ? m->stack[m->sp - 1] : NULL;
}

static bool need(vm *m, size_t n) { return n <= m->size - m->pos; }

static silkie_status memo_put(vm *m, uint64_t idx)
{
    pv *v = top(m);
    if (!v) return bad(m, "memo store with an empty stack");
    if (idx >= MAX_MEMO) return bad(m, "memo index beyond the limit");
    if (idx >= m->memo_cap) {
        uint32_t cap = m->memo_cap ? m->memo_cap : 64;
        while (cap <= idx) cap *= 2;
        pv **p = silkie_realloc(m->memo, cap * sizeof *p);
        if (!p) return oom(m);
        memset(p + m->memo_cap, 0, (cap - m->memo_cap) * sizeof *p);
        m->memo = p;
        m->memo_cap = cap;
    }
    m->memo[idx] = v;
    return SILKIE_OK;
}

static silkie_status memo_get(vm *m, uint64_t idx)
{
    if (idx >= m->memo_cap || !m->memo[idx]) return bad(m, "memo fetch of an unset slot");
    return push(m, m->memo[idx]);
}

static bool str_is(const pv *v, const char *s)
{
    size_t n = strlen(s);
    return v && v->k == V_STR && v->u.s.n == n && memcmp(v->u.s.p, s, n) == 0;
}

static const struct {
    const char *name;
    silkie_dtype dt;
} k_storages[] = {
    {"BFloat16Storage", SILKIE_DTYPE_BF16}, {"HalfStorage", SILKIE_DTYPE_F16},
    {"FloatStorage", SILKIE_DTYPE_F32},     {"DoubleStorage", SILKIE_DTYPE_F64},
    {"LongStorage", SILKIE_DTYPE_I64},      {"IntStorage", SILKIE_DTYPE_I32},
    {"ShortStorage", SILKIE_DTYPE_I16},     {"CharStorage", SILKIE_DTYPE_I8},
    {"ByteStorage", SILKIE_DTYPE_U8},       {"BoolStorage", SILKIE_DTYPE_U8},
};

static silkie_status push_global(vm *m, const char *mod, size_t ml, const char *name, size_t nl)
{
#define IS(s, l, lit) ((l) == sizeof(lit) - 1 && memcmp((s), (lit), (l)) == 0)
    pv *v = new_val(m, V_GLOBAL);
    if (!v) return oom(m);
    if (IS(mod, ml, "torch._utils") && IS(name, nl, "_rebuild_tensor_v2")) {
        v->u.g.g = G_REBUILD_V2;
        return push(m, v);
    }
    if (IS(mod, ml, "collections") && IS(name, nl, "OrderedDict")) {
        v->u.g.g = G_ORDERED_DICT;
        return push(m, v);
    }
    if (IS(mod, ml, "torch")) {
        for (size_t i = 0; i < SK_ARRAY_LEN(k_storages); i++) {
            if (nl == strlen(k_storages[i].name) && memcmp(name, k_storages[i].name, nl) == 0) {
                v->u.g.g = G_STORAGE;
                v->u.g.dt = k_storages[i].dt;
                return push(m, v);
            }
        }
    }
#undef IS
    return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: pickle byte %zu: global '%.*s.%.*s' is not allowed",
                   m->what, m->pos, (int)SK_MIN(ml, 200), mod, (int)SK_MIN(nl, 200), name);
}

/* Pops everything above the innermost mark into a fresh tuple-shaped array. */
static silkie_status pop_mark(vm *m, pv ***items, uint32_t *n)
{
    if (!m->n_marks) return bad(m, "no mark on the stack");
    uint32_t at = m->marks[--m->n_marks];
    *n = m->sp - at;
    *items = NULL;
    if (*n) {
        *items = arena_alloc(m, (size_t)*n * sizeof(pv *));
        if (!*items) return oom(m);
        memcpy(*items, m->stack + at, (size_t)*n * sizeof(pv *));
    }
    m->sp = at;
    return SILKIE_OK;
}

static silkie_status make_tuple(vm *m, pv **items, uint32_t n)
{
    pv *t = new_val(m, V_TUPLE);
    if (!t) return oom(m);
    t->u.t.items = items;
    t->u.t.n = n;
    return push(m, t);
}

static silkie_status tuple_n(vm *m, uint32_t n)
{
    pv **items = arena_alloc(m, n * sizeof(pv *));
    if (!items) return oom(m);
    for (uint32_t i = n; i-- > 0;) {
        items[i] = pop(m);
        if (!items[i]) return bad(m, "tuple with too few stack items");
    }
    return make_tuple(m, items, n);
}

static silkie_status list_add(vm *m, pv *l, pv *a, pv *b)
{
    pv_node *nd = arena_alloc(m, sizeof *nd);
    if (!nd) return oom(m);
    nd->a = a;
    nd->b = b;
    nd->next = NULL;
    if (l->u.l.tail) l->u.l.tail->next = nd;
    else l->u.l.head = nd;
    l->u.l.tail = nd;
    l->u.l.n++;
    return SILKIE_OK;
}

static silkie_status set_items(vm *m, pv **items, uint32_t n)
{
    pv *d = top(m);
    if (!d || d->k != V_DICT) return bad(m, "SETITEM(S) target is not a dict");
    if (n % 2) return bad(m, "SETITEMS with an odd number of items");
    for (uint32_t i = 0; i < n; i += 2) SK_CHECK(list_add(m, d, items[i], items[i + 1]));
    return SILKIE_OK;
}

static silkie_status append_items(vm *m, pv **items, uint32_t n)
{
    pv *l = top(m);
    if (!l || l->k != V_LIST) return bad(m, "APPEND(S) target is not a list");
    for (uint32_t i = 0; i < n; i++) SK_CHECK(list_add(m, l, items[i], NULL));
    return SILKIE_OK;
}

static bool as_u64(const pv *v, uint64_t *out)
{
    if (!v || v->k != V_INT || v->u.i < 0) return false;
    *out = (uint64_t)v->u.i;
    return true;
}

static silkie_status rebuild_tensor(vm *m, const pv *args)
{
    if (args->k != V_TUPLE || args->u.t.n < 6 || args->u.t.n > 7)
        return bad(m, "_rebuild_tensor_v2 wants 6 or 7 arguments");
    pv **a = args->u.t.items;
    const pv *sz = a[2], *sd = a[3];
    if (a[0]->k != V_STORAGE) return bad(m, "_rebuild_tensor_v2: argument 0 is not a storage");
    sk_pkl_tensor *t = arena_alloc(m, sizeof *t);
    if (!t) return oom(m);
    memset(t, 0, sizeof *t);
    if (!as_u64(a[1], &t->offset)) return bad(m, "_rebuild_tensor_v2: bad storage offset");
    if (sz->k != V_TUPLE || sd->k != V_TUPLE || sz->u.t.n != sd->u.t.n)
        return bad(m, "_rebuild_tensor_v2: size and stride must be tuples of one length");
    if (sz->u.t.n > SILKIE_WEIGHT_MAX_DIMS) return bad(m, "_rebuild_tensor_v2: too many dims");
    t->n_dims = sz->u.t.n;
    for (uint32_t i = 0; i < t->n_dims; i++) {
        if (!as_u64(sz->u.t.items[i], &t->shape[i]) || !as_u64(sd->u.t.items[i], &t->stride[i]))
            return bad(m, "_rebuild_tensor_v2: size/stride entries must be non-negative ints");
    }
    if (a[4]->k != V_BOOL) return bad(m, "_rebuild_tensor_v2: requires_grad is not a bool");
    if (a[5]->k != V_DICT) return bad(m, "_rebuild_tensor_v2: backward_hooks is not a dict");
    if (a[5]->u.l.n) return bad(m, "_rebuild_tensor_v2: backward hooks are not supported");
    t->dtype = a[0]->u.st.dt;
    t->key = a[0]->u.st.key;
    t->key_len = a[0]->u.st.key_len;
    t->storage_numel = a[0]->u.st.numel;
    pv *v = new_val(m, V_TENSOR);
    if (!v) return oom(m);
    v->u.tensor = t;
    return push(m, v);
}

static silkie_status reduce(vm *m)
{
    pv *args = pop(m), *fn = pop(m);
    if (!args || !fn) return bad(m, "REDUCE with too few stack items");
    if (fn->k != V_GLOBAL || args->k != V_TUPLE)
        return bad(m, "REDUCE on something that is not a whitelisted callable");
    if (fn->u.g.g == G_ORDERED_DICT) {
        if (args->u.t.n != 0) return bad(m, "OrderedDict() with arguments");
        return push(m, new_val(m, V_DICT));
    }
    if (fn->u.g.g == G_REBUILD_V2) return rebuild_tensor(m, args);
    return bad(m, "REDUCE on a storage type");
}

static silkie_status persid(vm *m)
{
    pv *t = pop(m);
    if (!t || t->k != V_TUPLE || t->u.t.n != 5 || !str_is(t->u.t.items[0], "storage"))
        return bad(m, "persistent id is not ('storage', type, key, location, numel)");
    pv **a = t->u.t.items;
    uint64_t numel;
    if (a[1]->k != V_GLOBAL || a[1]->u.g.g != G_STORAGE || a[2]->k != V_STR ||
        a[3]->k != V_STR || !as_u64(a[4], &numel))
        return bad(m, "persistent id has the wrong field types");
    pv *s = new_val(m, V_STORAGE);
    if (!s) return oom(m);
    s->u.st.dt = a[1]->u.g.dt;
    s->u.st.key = a[2]->u.s.p;
    s->u.st.key_len = a[2]->u.s.n;
    s->u.st.numel = numel;
    return push(m, s);
}

static silkie_status push_str(vm *m, uint64_t n)
{
    if (!need(m, n) || n > UINT32_MAX) return bad(m, "string runs past the end");
    pv *v = new_val(m, V_STR);
    if (!v) return oom(m);
    v->u.s.p = (const char *)m->buf + m->pos;
    v->u.s.n = (uint32_t)n;
    m->pos += n;
    return push(m, v);
}

static silkie_status push_int(vm *m, int64_t i)
{
    pv *v = new_val(m, V_INT);
    if (!v) return oom(m);
    v->u.i = i;
    return push(m, v);
}

/* Reads a '\n'-terminated line for GLOBAL. */
static bool read_line(vm *m, const char **s, size_t *n)
{
    const uint8_t *p = m->buf + m->pos;
    const uint8_t *nl = memchr(p, '\n', m->size - m->pos);
    if (!nl) return false;
    *s = (const char *)p;
    *n = (size_t)(nl - p);
    m->pos += *n + 1;
    return true;
}

static silkie_status step(vm *m, uint8_t op, pv **result)
{
    pv **items;
    uint32_t n;
    switch (op) {
    case 0x80: /* PROTO */
        if (!need(m, 1) || m->buf[m->pos] > 5) return bad(m, "unsupported pickle protocol");
        m->pos++;
        return SILKIE_OK;
    case 0x95: /* FRAME: a size hint only */
        if (!need(m, 8)) return bad(m, "FRAME runs past the end");
        m->pos += 8;
        return SILKIE_OK;
    case '}': return push(m, new_val(m, V_DICT));
    case ']': return push(m, new_val(m, V_LIST));
    case ')': return make_tuple(m, NULL, 0);
    case '(':
        if (m->n_marks >= MAX_MARKS) return bad(m, "MARK nesting deeper than the limit");
        m->marks[m->n_marks++] = m->sp;
        return SILKIE_OK;
    case 'X':
        if (!need(m, 4)) return bad(m, "BINUNICODE runs past the end");
        m->pos += 4;
        return push_str(m, sk_le32(m->buf + m->pos - 4));
    case 0x8c:
        if (!need(m, 1)) return bad(m, "SHORT_BINUNICODE runs past the end");
        m->pos += 1;
        return push_str(m, m->buf[m->pos - 1]);
    case 0x8d:
        if (!need(m, 8)) return bad(m, "BINUNICODE8 runs past the end");
        m->pos += 8;
        return push_str(m, sk_le64(m->buf + m->pos - 8));
    case 'J':
        if (!need(m, 4)) return bad(m, "BININT runs past the end");
        m->pos += 4;
        return push_int(m, (int32_t)sk_le32(m->buf + m->pos - 4));
    case 'K':
        if (!need(m, 1)) return bad(m, "BININT1 runs past the end");
        m->pos += 1;
        return push_int(m, m->buf[m->pos - 1]);
    case 'M':
        if (!need(m, 2)) return bad(m, "BININT2 runs past the end");
        m->pos += 2;
        return push_int(m, sk_le16(m->buf + m->pos - 2));
    case 0x8a: { /* LONG1: little-endian two's complement */
        if (!need(m, 1)) return bad(m, "LONG1 runs past the end");
        uint32_t len = m->buf[m->pos++];
        if (len > 8 || !need(m, len)) return bad(m, "LONG1 wider than 64 bits");
        uint64_t u = 0;
        for (uint32_t i = 0; i < len; i++) u |= (uint64_t)m->buf[m->pos + i] << (8 * i);
        if (len && len < 8 && (m->buf[m->pos + len - 1] & 0x80)) u |= ~(uint64_t)0 << (8 * len);
        m->pos += len;
        return push_int(m, (int64_t)u);
    }
    case 'G': { /* BINFLOAT, big-endian */
        if (!need(m, 8)) return bad(m, "BINFLOAT runs past the end");
        uint64_t u = 0;
        for (int i = 0; i < 8; i++) u = (u << 8) | m->buf[m->pos + i];
        m->pos += 8;
        pv *v = new_val(m, V_FLOAT);
        if (!v) return oom(m);
        memcpy(&v->u.f, &u, 8);
        return push(m, v);
    }
    case 'N': return push(m, new_val(m, V_NONE));
    case 0x88:
    case 0x89: {
        pv *v = new_val(m, V_BOOL);
        if (v) v->u.i = op == 0x88;
        return push(m, v);
    }
    case 0x85: return tuple_n(m, 1);
    case 0x86: return tuple_n(m, 2);
    case 0x87: return tuple_n(m, 3);
    case 't':
        SK_CHECK(pop_mark(m, &items, &n));
        return make_tuple(m, items, n);
    case 's': {
        pv *v = pop(m), *k = pop(m);
        if (!v || !k) return bad(m, "SETITEM with too few stack items");
        pv *kv[2] = {k, v};
        return set_items(m, kv, 2);
    }
    case 'u':
        SK_CHECK(pop_mark(m, &items, &n));
        return set_items(m, items, n);
    case 'a': {
        pv *v = pop(m);
        if (!v) return bad(m, "APPEND with an empty stack");
        return append_items(m, &v, 1);
    }
    case 'e':
        SK_CHECK(pop_mark(m, &items, &n));
        return append_items(m, items, n);
    case 'q':
        if (!need(m, 1)) return bad(m, "BINPUT runs past the end");
        m->pos += 1;
        return memo_put(m, m->buf[m->pos - 1]);
    case 'r':
        if (!need(m, 4)) return bad(m, "LONG_BINPUT runs past the end");
        m->pos += 4;
        return memo_put(m, sk_le32(m->buf + m->pos - 4));
    case 0x94: return memo_put(m, m->memo_next++);
    case 'h':
        if (!need(m, 1)) return bad(m, "BINGET runs past the end");
        m->pos += 1;
        return memo_get(m, m->buf[m->pos - 1]);
    case 'j':
        if (!need(m, 4)) return bad(m, "LONG_BINGET runs past the end");
        m->pos += 4;
        return memo_get(m, sk_le32(m->buf + m->pos - 4));
    case 'c': {
        const char *mod, *name;
        size_t ml, nl;
        if (!read_line(m, &mod, &ml) || !read_line(m, &name, &nl))
            return bad(m, "GLOBAL runs past the end");
        return push_global(m, mod, ml, name, nl);
    }
    case 0x93: {
        pv *name = pop(m), *mod = pop(m);
        if (!name || !mod || name->k != V_STR || mod->k != V_STR)
            return bad(m, "STACK_GLOBAL wants two strings");
        return push_global(m, mod->u.s.p, mod->u.s.n, name->u.s.p, name->u.s.n);
    }
    case 'R': return reduce(m);
    case 'Q': return persid(m);
    case 'b': { /* BUILD: OrderedDict state (attributes), which a state dict never needs */
        pv *state = pop(m), *obj = top(m);
        if (!state || !obj) return bad(m, "BUILD with too few stack items");
        if (obj->k != V_DICT || (state->k != V_NONE && state->k != V_DICT))
            return bad(m, "BUILD is only allowed on a dict");
        return SILKIE_OK;
    }
    case '.':
        *result = pop(m);
        if (!*result) return bad(m, "STOP with an empty stack");
        return SILKIE_OK;
    default: {
        char nm[8];
        op_name(op, nm);
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: pickle byte %zu: opcode %s is not supported",
                       m->what, m->pos - 1, nm);
    }
    }
}

static silkie_status collect(vm *m, const pv *root, sk_pkl_result *out)
{
    if (root->k != V_DICT) return bad(m, "the pickle is not a dict (state dict)");
    out->t = arena_alloc(m, (size_t)(root->u.l.n ? root->u.l.n : 1) * sizeof(sk_pkl_tensor));
    if (!out->t) return oom(m);
    for (const pv_node *nd = root->u.l.head; nd; nd = nd->next) {
        if (nd->a->k != V_STR) return bad(m, "state dict key is not a string");
        if (nd->b->k != V_TENSOR)
            return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: state dict entry '%.*s' is not a tensor",
                           m->what, (int)SK_MIN(nd->a->u.s.n, 200u), nd->a->u.s.p);
        sk_pkl_tensor *t = &out->t[out->n++];
        *t = *nd->b->u.tensor;
        t->name = nd->a->u.s.p;
        t->name_len = nd->a->u.s.n;
    }
    return SILKIE_OK;
}

silkie_status sk_pickle_state_dict(const uint8_t *buf, size_t size, const char *what,
                                   sk_pkl_result *out)
{
    memset(out, 0, sizeof *out);
    vm *m = SK_NEW(vm);
    if (!m) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: pickle machine", what);
    m->buf = buf;
    m->size = size;
    m->what = what;
    pv *result = NULL;
    silkie_status st = SILKIE_OK;
    while (st == SILKIE_OK && !result) {
        if (m->pos >= m->size) {
            st = bad(m, "ends without STOP");
            break;
        }
        st = step(m, m->buf[m->pos++], &result);
    }
    if (st == SILKIE_OK) st = collect(m, result, out);
    silkie_free(m->stack);
    silkie_free(m->memo);
    if (st == SILKIE_OK) {
        out->arena = m->arena;
    } else {
        arena_free(m->arena);
        memset(out, 0, sizeof *out);
    }
    silkie_free(m);
    return st;
}

void sk_pickle_release(sk_pkl_result *r)
{
    arena_free(r->arena);
    memset(r, 0, sizeof *r);
}
