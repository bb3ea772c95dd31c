/* Minimal zip reader for torch.save archives: end-of-central-directory (with zip64), central
 * directory, local headers. Only STORED entries are accepted, so each entry is a byte range of
 * the mapping and can be used in place. Every offset and length is checked against the file.
 * CRC-32s come from the central directory (torch.save leaves them zero in the local headers and
 * writes a data descriptor); small entries are checked at open, the rest on request. */
#include <pthread.h>
#include <stdlib.h>

#include "files_int.h"

#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOC64 0x07064b50u
#define SIG_CDH 0x02014b50u
#define SIG_LFH 0x04034b50u
#define MAX_ENTRIES (1u << 20)

/* ---- CRC-32 (ISO-HDLC / zip: reflected polynomial 0xEDB88320, init and final xor ~0) -------- */

/* t[0] is the classic byte table; t[k][b] advances t[0][b] by k more zero bytes, so eight
 * input bytes take eight lookups (slicing by 8) instead of eight dependent steps. */
static uint32_t g_crc_table[8][256];
static pthread_once_t g_crc_once = PTHREAD_ONCE_INIT;

static void crc_tables(void)
{
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
        g_crc_table[0][b] = c;
    }
    for (uint32_t b = 0; b < 256; b++)
        for (int k = 1; k < 8; k++)
            g_crc_table[k][b] = (g_crc_table[k - 1][b] >> 8) ^
                                g_crc_table[0][g_crc_table[k - 1][b] & 0xff];
}

uint32_t sk_crc32(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&g_crc_once, crc_tables);
    const uint32_t(*t)[256] = (const uint32_t(*)[256])g_crc_table;
    const uint8_t *p = data;
    crc = ~crc;
    for (; n >= 8; p += 8, n -= 8) {
        uint32_t lo = crc ^ sk_le32(p), hi = sk_le32(p + 4);
        crc = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
              t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
    }
    for (; n; n--) crc = t[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

silkie_status sk_zip_check_crc(const sk_zip_entry *e, const char *what,
                               const silkie_weights *owner)
{
    /* In steps, dropping the pages read when the archive is a mapping of owner. */
    const size_t step = (size_t)8 << 20;
    uint32_t got = 0;
    for (uint64_t at = 0; at < e->size; at += step) {
        size_t k = (size_t)SK_MIN(e->size - at, (uint64_t)step);
        got = sk_crc32(got, e->data + at, k);
        if (owner) silkie_weights_release_range(owner, e->data + at, k);
    }
    if (got == e->crc) return SILKIE_OK;
    return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: zip entry '%.*s' is damaged: its CRC-32 is %08x, the "
                   "archive records %08x", what, (int)SK_MIN(e->name_len, 300u), e->name, got,
                   e->crc);
}

/* Checked at every open: the pickle and the other small entries (version, byteorder, small
 * storages) cost nothing next to parsing them. */
static bool crc_always(const sk_zip_entry *e)
{
    static const char pkl[] = ".pkl";
    return e->size <= SK_ZIP_CRC_ALWAYS_BYTES ||
           (e->name_len >= 4 && memcmp(e->name + e->name_len - 4, pkl, 4) == 0);
}

/* Does [off, off + len) lie inside a buffer of `size` bytes? */
static bool in_range(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

static int name_cmp(const char *a, size_t na, const char *b, size_t nb)
{
    int c = memcmp(a, b, SK_MIN(na, nb));
    return c ? c : (na > nb) - (na < nb);
}

static int entry_cmp(const void *x, const void *y)
{
    const sk_zip_entry *a = x, *b = y;
    return name_cmp(a->name, a->name_len, b->name, b->name_len);
}

static silkie_status find_eocd(const uint8_t *buf, size_t size, const char *what, size_t *pos)
{
    if (size < 22) return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: too short for a zip archive", what);
    size_t lo = size - 22 > 65535 ? size - 22 - 65535 : 0;
    for (size_t p = size - 22 + 1; p-- > lo;) {
        if (sk_le32(buf + p) == SIG_EOCD && p + 22 + sk_le16(buf + p + 20) == size) {
            *pos = p;
            return SILKIE_OK;
        }
    }
    return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: no zip end-of-central-directory record", what);
}

/* Values at 0xffff/0xffffffff live in the zip64 record instead. */
static silkie_status read_zip64_eocd(const uint8_t *buf, size_t size, size_t eocd,
                                     const char *what, uint64_t *n, uint64_t *cd_size,
                                     uint64_t *cd_off)
{
    if (eocd < 20 || sk_le32(buf + eocd - 20) != SIG_LOC64)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: zip64 values without a zip64 locator", what);
    const uint8_t *loc = buf + eocd - 20;
    uint64_t off = sk_le64(loc + 8);
    if (sk_le32(loc + 4) != 0 || sk_le32(loc + 16) > 1)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: multi-disk zip archive", what);
    if (!in_range(off, 56, eocd - 20) || sk_le32(buf + off) != SIG_EOCD64)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: bad zip64 end-of-central-directory offset",
                       what);
    const uint8_t *r = buf + off;
    if (sk_le32(r + 16) != 0 || sk_le32(r + 20) != 0)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: multi-disk zip archive", what);
    *n = sk_le64(r + 32);
    *cd_size = sk_le64(r + 40);
    *cd_off = sk_le64(r + 48);
    (void)size;
    return SILKIE_OK;
}

/* Zip64 extended information: present only for the fields that overflowed, in this order. */
static silkie_status zip64_extra(const uint8_t *ex, uint32_t ex_len, bool need_u, bool need_c,
                                 bool need_o, uint64_t *usize, uint64_t *csize, uint64_t *off,
                                 const char *what)
{
    uint32_t p = 0;
    while (p + 4 <= ex_len) {
        uint16_t id = sk_le16(ex + p), len = sk_le16(ex + p + 2);
        if (p + 4 + len > ex_len) break;
        if (id == 0x0001) {
            const uint8_t *f = ex + p + 4;
            uint32_t q = 0;
            if (need_u) { if (q + 8 > len) goto bad; *usize = sk_le64(f + q); q += 8; }
            if (need_c) { if (q + 8 > len) goto bad; *csize = sk_le64(f + q); q += 8; }
            if (need_o) { if (q + 8 > len) goto bad; *off = sk_le64(f + q); q += 8; }
            return SILKIE_OK;
        }
        p += 4 + len;
    }
bad:
    return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: zip entry needs zip64 sizes that are missing", what);
}

silkie_status sk_zip_open(const uint8_t *buf, size_t size, const char *what, sk_zip *z)
{
    z->entries = NULL;
    z->n = 0;
    size_t eocd = 0;
    SK_CHECK(find_eocd(buf, size, what, &eocd));
    const uint8_t *e = buf + eocd;
    if (sk_le16(e + 4) != 0 || sk_le16(e + 6) != 0)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: multi-disk zip archive", what);
    uint64_t n = sk_le16(e + 10), cd_size = sk_le32(e + 12), cd_off = sk_le32(e + 16);
    if (n == 0xffff || cd_size == 0xffffffffu || cd_off == 0xffffffffu)
        SK_CHECK(read_zip64_eocd(buf, size, eocd, what, &n, &cd_size, &cd_off));
    if (n > MAX_ENTRIES)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: %llu zip entries, limit %u", what,
                       (unsigned long long)n, MAX_ENTRIES);
    if (!in_range(cd_off, cd_size, eocd) || n * 46 > cd_size)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: zip central directory outside the file", what);
    z->entries = SK_NEW_ARRAY(sk_zip_entry, n ? n : 1);
    if (!z->entries) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: zip directory", what);
    uint64_t p = cd_off, cd_end = cd_off + cd_size;
    silkie_status st = SILKIE_OK;
    for (uint64_t i = 0; i < n && st == SILKIE_OK; i++) {
        if (!in_range(p, 46, cd_end) || sk_le32(buf + p) != SIG_CDH) {
            st = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: zip central directory entry %llu is corrupt",
                         what, (unsigned long long)i);
            break;
        }
        const uint8_t *c = buf + p;
        uint16_t flags = sk_le16(c + 8), method = sk_le16(c + 10);
        uint32_t crc = sk_le32(c + 16);
        uint64_t csize = sk_le32(c + 20), usize = sk_le32(c + 24);
        uint32_t nl = sk_le16(c + 28), el = sk_le16(c + 30), cl = sk_le16(c + 32);
        uint64_t loff = sk_le32(c + 42);
        if (!in_range(p + 46, (uint64_t)nl + el + cl, cd_end)) {
            st = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: zip entry %llu runs past the directory", what,
                         (unsigned long long)i);
            break;
        }
        const char *name = (const char *)c + 46;
        bool nu = usize == 0xffffffffu, nc = csize == 0xffffffffu, no = loff == 0xffffffffu;
        if (nu || nc || no) {
            st = zip64_extra(c + 46 + nl, el, nu, nc, no, &usize, &csize, &loff, what);
            if (st != SILKIE_OK) break;
        }
        if (flags & 1u) {
            st = SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: zip entry '%.*s' is encrypted", what,
                         (int)nl, name);
            break;
        }
        if (method != 0) {
            st = SK_FAIL(SILKIE_ERR_UNSUPPORTED,
                         "%s: zip entry '%.*s' is compressed (method %u); torch.save writes "
                         "stored entries, re-save without compression", what, (int)nl, name,
                         method);
            break;
        }
        if (csize != usize) {
            st = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: stored zip entry '%.*s' has two sizes", what,
                         (int)nl, name);
            break;
        }
        /* The local header repeats the name; the data follows its own name and extra field. */
        if (!in_range(loff, 30, cd_off) || sk_le32(buf + loff) != SIG_LFH ||
            sk_le16(buf + loff + 26) != nl) {
            st = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: zip entry '%.*s' has a bad local header", what,
                         (int)nl, name);
            break;
        }
        uint64_t data = loff + 30 + nl + sk_le16(buf + loff + 28);
        if (!in_range(loff + 30, nl, cd_off) || memcmp(buf + loff + 30, name, nl) != 0 ||
            !in_range(data, usize, cd_off)) {
            st = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: zip entry '%.*s' lies outside the archive "
                                              "data", what, (int)nl, name);
            break;
        }
        z->entries[z->n].name = name;
        z->entries[z->n].name_len = nl;
        z->entries[z->n].data = buf + data;
        z->entries[z->n].size = usize;
        z->entries[z->n].crc = crc;
        z->n++;
        p += 46 + (uint64_t)nl + el + cl;
    }
    /* Sorted by name so lookups are logarithmic even for hostile entry counts; duplicate names
     * would make "the" storage of a key ambiguous. */
    if (st == SILKIE_OK && z->n > 1) {
        qsort(z->entries, z->n, sizeof *z->entries, entry_cmp);
        for (uint32_t i = 1; i < z->n && st == SILKIE_OK; i++)
            if (entry_cmp(&z->entries[i - 1], &z->entries[i]) == 0)
                st = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: zip entry '%.*s' appears twice", what,
                             (int)z->entries[i].name_len, z->entries[i].name);
    }
    for (uint32_t i = 0; i < z->n && st == SILKIE_OK; i++)
        if (crc_always(&z->entries[i])) st = sk_zip_check_crc(&z->entries[i], what, NULL);
    if (st != SILKIE_OK) sk_zip_release(z);
    return st;
}

void sk_zip_release(sk_zip *z)
{
    silkie_free(z->entries);
    z->entries = NULL;
    z->n = 0;
}

const sk_zip_entry *sk_zip_find(const sk_zip *z, const char *name, size_t name_len)
{
    uint32_t lo = 0, hi = z->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = name_cmp(z->entries[mid].name, z->entries[mid].name_len, name, name_len);
        if (c == 0) return &z->entries[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}
