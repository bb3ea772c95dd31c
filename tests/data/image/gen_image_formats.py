#!/usr/bin/env python3
"""Regenerates the PNG / WebP / BMP / GIF fixtures of tests/unit/test_image_formats.c and
their expected pixels, formats_expect.txt: one line per file with the size and the FNV-1a
64-bit hash of Pillow's Image.open(f).convert("RGB").tobytes().

Expected pixels come from Debian 12's python3-pil (Pillow 9.4.0, libwebp 1.2.4); the script
refuses to run with another Pillow. The files themselves are written by the small encoders
below (so that every bit depth, interlacing, palette and header variant exists, which Pillow
cannot all write), except the WebPs and a few files Pillow writes itself. The crafted PNGs of
plain 8-bit RGB and the crafted GIFs are also checked to decode in Pillow to the pixels they
were built from, which checks the encoders here (filters, Adam7, LZW code widths).

Run from this directory: /usr/bin/python3 gen_image_formats.py
"""
import io
import os
import struct
import zlib

import PIL
from PIL import Image

from gen_image_fixtures import fnv1a64, synth

OUT = "formats"  # subdirectory for the fixtures
W, H = 19, 13    # odd, not a multiple of 8: partial Adam7 passes, bit padding, row padding


def rgb_at(img, x, y):
    return img.getpixel((x, y))


def sample16(v8, x, y):
    """A 16-bit sample whose low byte varies, so high-byte and rounded scaling differ."""
    return (v8 << 8) | ((x * 53 + y * 97 + 41) & 255)


def det_palette(n, seed):
    out = bytearray()
    v = seed
    for _ in range(n * 3):
        v = (v * 1103515245 + 12345) & 0x7FFFFFFF
        out.append((v >> 16) & 255)
    return bytes(out)


# ---- PNG ------------------------------------------------------------------------------------

def png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def pack_row(samples, depth):
    if depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    if depth == 8:
        return bytes(samples)
    out, acc, n = bytearray(), 0, 0
    for s in samples:
        acc = (acc << depth) | s
        n += depth
        if n == 8:
            out.append(acc)
            acc, n = 0, 0
    if n:
        out.append(acc << (8 - n))
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_row(ftype, row, prev, bpp):
    out = bytearray([ftype])
    for i, v in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prev[i] if prev else 0
        c = prev[i - bpp] if prev and i >= bpp else 0
        pred = (0, a, b, (a + b) // 2, paeth(a, b, c))[ftype]
        out.append((v - pred) & 255)
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2)]
PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def png_file(w, h, ctype, depth, px, plte=None, trns=None, interlace=False):
    """px(x, y) -> tuple of samples. Rows cycle through the five filter types; IDAT is split
    in three chunks, with a text and a private ancillary chunk before it."""
    ch = PNG_CHANNELS[ctype]
    bpp = max(1, ch * depth // 8)
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    raw, k = bytearray(), 0
    for x0, y0, dx, dy in passes:
        xs, ys = range(x0, w, dx), range(y0, h, dy)
        if not xs or not ys:
            continue
        prev = None
        for y in ys:
            row = pack_row([s for x in xs for s in px(x, y)], depth)
            raw += filter_row(k % 5, row, prev, bpp)
            prev, k = row, k + 1
    z = zlib.compress(bytes(raw), 9)
    out = b"\x89PNG\r\n\x1a\n" + png_chunk(
        b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 1 if interlace else 0))
    out += png_chunk(b"tEXt", b"Comment\0made for silkie tests")
    out += png_chunk(b"prVt", b"private ancillary chunk")
    if plte is not None:
        out += png_chunk(b"PLTE", plte)
    if trns is not None:
        out += png_chunk(b"tRNS", trns)
    cut = [0, len(z) // 3, 2 * len(z) // 3, len(z)]
    for i in range(3):
        out += png_chunk(b"IDAT", z[cut[i]:cut[i + 1]])
    return out + png_chunk(b"IEND", b"")


def png_cases(base):
    def g8(x, y):
        return rgb_at(base, x, y)[0]

    def alpha(x, y):
        return (x * 37 + y * 11) & 255

    def g16_clip(x, y):
        # Low values survive Pillow's clip to 0..255, the rest become 255.
        v = g8(x, y)
        return v if y < H // 2 else (v << 8) | (x * 7 & 255)

    pal256 = det_palette(256, 7)
    cases = {
        "g1": (0, 1, lambda x, y: (g8(x, y) >> 7,)),
        "g2": (0, 2, lambda x, y: (g8(x, y) >> 6,)),
        "g4": (0, 4, lambda x, y: (g8(x, y) >> 4,)),
        "g8": (0, 8, lambda x, y: (g8(x, y),)),
        "g16": (0, 16, lambda x, y: (g16_clip(x, y),)),
        "ga8": (4, 8, lambda x, y: (g8(x, y), alpha(x, y))),
        "ga16": (4, 16, lambda x, y: (sample16(g8(x, y), x, y), alpha(x, y) * 257)),
        "rgb8": (2, 8, lambda x, y: rgb_at(base, x, y)),
        "rgb16": (2, 16, lambda x, y: tuple(sample16(v, x, y + c) for c, v in
                                             enumerate(rgb_at(base, x, y)))),
        "rgba8": (6, 8, lambda x, y: rgb_at(base, x, y) + (alpha(x, y),)),
        "rgba16": (6, 16, lambda x, y: tuple(sample16(v, x, y + c) for c, v in
                                              enumerate(rgb_at(base, x, y) + (alpha(x, y),)))),
    }
    files = {}
    for name, (ctype, depth, px) in cases.items():
        files["png_%s.png" % name] = png_file(W, H, ctype, depth, px)
    for depth in (1, 2, 4, 8):
        n = 1 << depth
        files["png_p%d.png" % depth] = png_file(
            W, H, 3, depth, lambda x, y, n=n: (g8(x, y) * n >> 8,), plte=pal256[:3 * n])
    # Transparency is ignored by convert("RGB"), whatever its form.
    files["png_p8_trns.png"] = png_file(W, H, 3, 8, lambda x, y: (g8(x, y),), plte=pal256,
                                        trns=bytes(range(0, 256, 3)))
    files["png_g8_trns.png"] = png_file(W, H, 0, 8, cases["g8"][2], trns=b"\0\x40")
    files["png_rgb8_trns.png"] = png_file(W, H, 2, 8, cases["rgb8"][2], trns=b"\0\x10\0\x20\0\x30")
    # Five palette entries, indices up to 15: Pillow shows the grey ramp past the end.
    files["png_p4_short.png"] = png_file(W, H, 3, 4, lambda x, y: (g8(x, y) >> 4,),
                                         plte=pal256[:15])
    # Interlaced (Adam7), including images smaller than the first pass's 8x8 grid.
    files["png_g1_i.png"] = png_file(W, H, 0, 1, cases["g1"][2], interlace=True)
    files["png_p4_i.png"] = png_file(W, H, 3, 4, lambda x, y: (g8(x, y) >> 4,),
                                     plte=pal256[:48], interlace=True)
    files["png_rgb8_i.png"] = png_file(W, H, 2, 8, cases["rgb8"][2], interlace=True)
    files["png_rgba16_i.png"] = png_file(W, H, 6, 16, cases["rgba16"][2], interlace=True)
    files["png_g16_i.png"] = png_file(W, H, 0, 16, cases["g16"][2], interlace=True)
    files["png_ga8_i.png"] = png_file(W, H, 4, 8, cases["ga8"][2], interlace=True)
    files["png_rgb8_i_3x2.png"] = png_file(3, 2, 2, 8, cases["rgb8"][2], interlace=True)
    files["png_rgb8_i_1x1.png"] = png_file(1, 1, 2, 8, cases["rgb8"][2], interlace=True)
    for name in ("png_rgb8.png", "png_rgb8_i.png"):
        assert pillow_rgb(files[name]) == ((W, H), base.tobytes()), "PNG encoder: " + name
    # Written by Pillow itself (zlib settings and filters of a common encoder).
    buf = io.BytesIO()
    base.save(buf, "PNG", optimize=True)
    files["png_pillow_rgb.png"] = buf.getvalue()
    buf = io.BytesIO()
    base.quantize(37).save(buf, "PNG")
    files["png_pillow_p.png"] = buf.getvalue()
    return files


# ---- BMP ------------------------------------------------------------------------------------

def bmp_file(w, h, bits, rows, hsize=40, comp=0, pal=b"", colors=0, masks=None, top_down=False,
             offset=None, trim_last=False):
    """rows(y) -> packed row bytes of image row y (top first); stored bottom-up unless
    top_down. pal: raw palette bytes (4 per entry, or 3 for the 12-byte header)."""
    stride = (w * bits + 31) // 32 * 4
    order = range(h) if top_down else range(h - 1, -1, -1)
    body = b"".join(rows(y).ljust(stride, b"\0") for y in order)
    if trim_last:
        body = body[:len(body) - (stride - (w * bits + 7) // 8)]
    if hsize == 12:
        info = struct.pack("<IHHHH", 12, w, h, 1, bits)
    else:
        info = struct.pack("<IiiHHIIiiII", hsize, w, -h if top_down else h, 1, bits, comp,
                           len(body), 2835, 2835, colors, 0)
        if hsize > 40:
            info += struct.pack("<4I", *(masks or (0, 0, 0, 0)))
            info = info.ljust(hsize, b"\0")
    extra = struct.pack("<3I", *masks[:3]) if hsize == 40 and masks else b""
    head = 14 + len(info) + len(extra) + len(pal)
    off = head if offset is None else offset
    return (b"BM" + struct.pack("<IHHI", head + len(body), 0, 0, off) + info + extra + pal +
            body)


def bmp_cases(base):
    def px(x, y):
        return rgb_at(base, x, y)

    def idx_row(bits, n):
        return lambda y: pack_row([px(x, y)[0] * n >> 8 for x in range(W)], bits)

    def bgrx(p):
        return b"".join(p[i:i + 3][::-1] + b"\0" for i in range(0, len(p), 3))

    def bgr(p):
        return b"".join(p[i:i + 3][::-1] for i in range(0, len(p), 3))

    pal = det_palette(256, 11)
    files = {}
    files["bmp_1.bmp"] = bmp_file(W, H, 1, idx_row(1, 2), pal=bgrx(pal[:6]))
    files["bmp_1_bw.bmp"] = bmp_file(W, H, 1, idx_row(1, 2), pal=b"\0\0\0\0\xff\xff\xff\0")
    files["bmp_4.bmp"] = bmp_file(W, H, 4, idx_row(4, 16), pal=bgrx(pal[:48]))
    files["bmp_4_short.bmp"] = bmp_file(W, H, 4, idx_row(4, 16), pal=bgrx(pal[:15]), colors=5)
    files["bmp_8.bmp"] = bmp_file(W, H, 8, idx_row(8, 256), pal=bgrx(pal))
    files["bmp_8_short.bmp"] = bmp_file(W, H, 8, idx_row(8, 256), pal=bgrx(pal[:21]), colors=7)
    # bfOffBits pointing at the palette: Pillow moves it 4 bytes per entry forward.
    files["bmp_8_off_at_pal.bmp"] = bmp_file(W, H, 8, idx_row(8, 256), pal=bgrx(pal[:48]),
                                             colors=16, offset=54)
    files["bmp_8_core.bmp"] = bmp_file(W, H, 8, idx_row(8, 256), hsize=12, pal=bgr(pal))

    def r16(fmt):
        def row(y):
            out = b""
            for x in range(W):
                r, g, b = px(x, y)
                if fmt == 565:
                    v = (r >> 3) << 11 | (g >> 2) << 5 | b >> 3
                else:
                    v = (r >> 3) << 10 | (g >> 3) << 5 | b >> 3 | (x & 1) << 15
                out += struct.pack("<H", v)
            return out
        return row

    files["bmp_16.bmp"] = bmp_file(W, H, 16, r16(555))
    files["bmp_16_565.bmp"] = bmp_file(W, H, 16, r16(565), comp=3, masks=(0xF800, 0x7E0, 0x1F))
    files["bmp_16_555_v5.bmp"] = bmp_file(W, H, 16, r16(555), hsize=124, comp=3,
                                          masks=(0x7C00, 0x3E0, 0x1F, 0))

    def r24(y):
        return b"".join(bytes(px(x, y)[::-1]) for x in range(W))

    def r32(order, fourth):
        return lambda y: b"".join(
            bytes({"R": px(x, y)[0], "G": px(x, y)[1], "B": px(x, y)[2],
                   "A": fourth(x, y)}[c] for c in order) for x in range(W))

    def alpha(x, y):
        return (x * 37 + y * 11) & 255

    files["bmp_24.bmp"] = bmp_file(W, H, 24, r24)
    files["bmp_24_topdown.bmp"] = bmp_file(W, H, 24, r24, top_down=True)
    files["bmp_24_v4.bmp"] = bmp_file(W, H, 24, r24, hsize=108)
    files["bmp_24_os2.bmp"] = bmp_file(W, H, 24, r24, hsize=64)
    files["bmp_24_core.bmp"] = bmp_file(W, H, 24, r24, hsize=12)
    files["bmp_24_nopad.bmp"] = bmp_file(W, H, 24, r24, trim_last=True)
    files["bmp_24_off0.bmp"] = bmp_file(W, H, 24, r24, offset=0)
    files["bmp_24_bf.bmp"] = bmp_file(W, H, 24, r24, comp=3, masks=(0xFF0000, 0xFF00, 0xFF))
    files["bmp_32.bmp"] = bmp_file(W, H, 32, r32("BGRA", alpha))  # fourth byte ignored
    files["bmp_32_v5_bgra.bmp"] = bmp_file(W, H, 32, r32("BGRA", alpha), hsize=124, comp=3,
                                           masks=(0xFF0000, 0xFF00, 0xFF, 0xFF000000))
    files["bmp_32_v5_rgba.bmp"] = bmp_file(W, H, 32, r32("RGBA", alpha), hsize=124, comp=3,
                                           masks=(0xFF, 0xFF00, 0xFF0000, 0xFF000000),
                                           top_down=True)
    files["bmp_32_v4_abgr.bmp"] = bmp_file(W, H, 32, r32("ABGR", alpha), hsize=108, comp=3,
                                           masks=(0xFF000000, 0xFF0000, 0xFF00, 0xFF))
    files["bmp_32_xbgr.bmp"] = bmp_file(W, H, 32, r32("ABGR", alpha), comp=3,
                                        masks=(0xFF000000, 0xFF0000, 0xFF00))
    for mode in ("RGB", "P", "L", "1"):
        buf = io.BytesIO()
        (base.quantize(50) if mode == "P" else base.convert(mode)).save(buf, "BMP")
        files["bmp_pillow_%s.bmp" % mode.lower()] = buf.getvalue()
    return files


# ---- GIF ------------------------------------------------------------------------------------

def check_indexed(data, w, h, idx, pal):
    want = b"".join(pal[3 * idx(x, y):3 * idx(x, y) + 3] for y in range(h) for x in range(w))
    assert pillow_rgb(data) == ((w, h), want), "encoder and Pillow disagree"


def lzw_encode(indices, mcs, clear_after_full=0):
    """GIF LZW. The code width grows after the entry 2^width - 1 is defined, which is when a
    decoder defines it too (one code later than the encoder). Once the 4096-entry table is full
    the encoder sends a clear code after clear_after_full more codes (None: never)."""
    clear, end = 1 << mcs, (1 << mcs) + 1
    codes = []
    if mcs == 1:
        # With a code size of 1 the first free entry (4) is already past 2^2 - 1, so Pillow's
        # decoder (like ours) never widens its 2-bit codes: only literals can be sent.
        codes = [(clear, 2)] + [(c, 2) for c in indices] + [(end, 2)]
        indices = []

    def reset():
        return {}, clear + 2, mcs + 1

    table, nxt, width = reset()
    cur, defined, full_codes = (indices or [None])[0], False, 0
    if indices:
        codes.append((clear, width))
    for c in indices[1:]:
        if (cur, c) in table:
            cur = table[(cur, c)]
            continue
        codes.append((cur, width))
        if defined and nxt == (1 << width) and width < 12:
            width += 1
        if nxt < 4096:
            table[(cur, c)] = nxt
            nxt += 1
            defined = True
        elif clear_after_full is not None and full_codes >= clear_after_full:
            codes.append((clear, width))
            table, nxt, width = reset()
            defined, full_codes = False, 0
        else:
            full_codes += 1
        cur = c
    if indices:
        codes.append((cur, width))
        if defined and nxt == (1 << width) and width < 12:
            width += 1
        codes.append((end, width))
    out, acc, n = bytearray(), 0, 0
    for code, wd in codes:
        acc |= code << n
        n += wd
        while n >= 8:
            out.append(acc & 255)
            acc >>= 8
            n -= 8
    if n:
        out.append(acc)
    return bytes(out)


def sub_blocks(data, size=255):
    out = b""
    for i in range(0, len(data), size):
        out += bytes([len(data[i:i + size])]) + data[i:i + size]
    return out + b"\0"


def pal_bits(p):
    n = max(2, len(p) // 3)
    return (n - 1).bit_length()


def gif_file(sw, sh, frames, gpal=None, pre=b"", stray=b""):
    out = b"GIF89a" + struct.pack("<HH", sw, sh)
    if gpal is not None:
        bits = pal_bits(gpal)
        out += bytes([0x80 | (bits - 1), 0, 0]) + gpal.ljust(3 << bits, b"\0")
    else:
        out += b"\0\0\0"
    out += pre
    for f in frames:
        out += f.get("gce", b"") + stray
        flags = 0x40 if f.get("interlace") else 0
        lp = f.get("lpal")
        if lp is not None:
            bits = pal_bits(lp)
            flags |= 0x80 | (bits - 1)
            lp = lp.ljust(3 << bits, b"\0")
        out += b"," + struct.pack("<4H", f["x"], f["y"], f["w"], f["h"]) + bytes([flags])
        out += lp or b""
        order = list(range(f["h"]))
        if f.get("interlace"):
            order = (list(range(0, f["h"], 8)) + list(range(4, f["h"], 8)) +
                     list(range(2, f["h"], 4)) + list(range(1, f["h"], 2)))
        idx = [f["idx"](x, y) for y in order for x in range(f["w"])]
        lzw = lzw_encode(idx, f["mcs"], f.get("clear_after_full", 0))
        out += bytes([f["mcs"]]) + sub_blocks(lzw, f.get("block", 255))
    return out + b";"


def gce(transparent=None):
    return b"!\xf9\x04" + bytes([1 if transparent is not None else 0, 10, 0,
                                 transparent or 0, 0])


def gif_cases(base):
    def g8(x, y):
        return rgb_at(base, x, y)[0]

    pal = det_palette(256, 23)

    def full(**kw):
        f = dict(x=0, y=0, w=W, h=H, mcs=8, idx=g8)
        f.update(kw)
        return f

    files = {}
    files["gif_global.gif"] = gif_file(W, H, [full()], gpal=pal)
    files["gif_local.gif"] = gif_file(W, H, [full(lpal=det_palette(256, 29))], gpal=pal)
    files["gif_interlaced.gif"] = gif_file(W, H, [full(interlace=True)], gpal=pal)
    files["gif_interlaced_3.gif"] = gif_file(5, 3, [full(w=5, h=3, interlace=True)], gpal=pal)
    files["gif_mcs2.gif"] = gif_file(W, H, [full(mcs=2, idx=lambda x, y: g8(x, y) >> 6)],
                                     gpal=pal[:12])
    files["gif_mcs1.gif"] = gif_file(W, H, [full(mcs=1, idx=lambda x, y: g8(x, y) >> 7)],
                                     gpal=pal[:6])
    # A 4-entry palette with indices up to 255 (grey ramp past the end), a GIF without any
    # palette (indices are grey levels), a first image inside the screen with the transparent
    # index filling the rest, one sticking out of the screen, and stray bytes before the image.
    files["gif_short_pal.gif"] = gif_file(W, H, [full()], gpal=pal[:12])
    files["gif_no_pal.gif"] = gif_file(W, H, [full()])
    files["gif_offset_trns.gif"] = gif_file(
        W, H, [full(x=5, y=3, w=9, h=7, gce=gce(transparent=77))], gpal=pal,
        pre=b"!\xfe\x05hello\0")
    files["gif_offset.gif"] = gif_file(W, H, [full(x=5, y=3, w=9, h=7)], gpal=pal)
    files["gif_beyond.gif"] = gif_file(12, 8, [full(x=4, y=2)], gpal=pal)
    files["gif_stray.gif"] = gif_file(W, H, [full()], gpal=pal, stray=b"\x07\x99")
    files["gif_anim.gif"] = gif_file(
        W, H, [full(gce=gce()), full(idx=lambda x, y: 255 - g8(x, y), gce=gce())], gpal=pal,
        pre=b"!\xff\x0bNETSCAPE2.0\x03\x01\0\0\0")
    files["gif_small_blocks.gif"] = gif_file(W, H, [full(block=7)], gpal=pal)
    for name, fn, p in [("gif_global.gif", g8, pal), ("gif_interlaced.gif", g8, pal),
                        ("gif_small_blocks.gif", g8, pal),
                        ("gif_mcs2.gif", lambda x, y: g8(x, y) >> 6, pal[:12]),
                        ("gif_mcs1.gif", lambda x, y: g8(x, y) >> 7, pal[:6])]:
        check_indexed(files[name], W, H, fn, p)

    # Noise fills the 4096-entry table; the encoder then goes on for 300 codes without
    # clearing ("deferred clear": 12-bit codes, no new entries) before it clears and restarts.
    def noise(x, y):
        v = (x * 0x9E3779B1 ^ y * 0x85EBCA77) & 0xFFFFFFFF
        v ^= v >> 13
        v = (v * 0x2C1B3C6D) & 0xFFFFFFFF
        return (v >> 7) & 255

    files["gif_full_table.gif"] = gif_file(
        72, 72, [full(w=72, h=72, idx=noise, clear_after_full=300)], gpal=pal)
    check_indexed(files["gif_full_table.gif"], 72, 72, noise, pal)
    buf = io.BytesIO()
    base.quantize(64).save(buf, "GIF")
    files["gif_pillow.gif"] = buf.getvalue()
    buf = io.BytesIO()
    frames = [base.quantize(64), base.transpose(Image.Transpose.FLIP_LEFT_RIGHT).quantize(64)]
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    files["gif_pillow_anim.gif"] = buf.getvalue()
    return files


# ---- WebP -----------------------------------------------------------------------------------

def riff_chunk(kind, data):
    return kind + struct.pack("<I", len(data)) + data + (b"\0" if len(data) & 1 else b"")


def u24(v):
    return struct.pack("<I", v)[:3]


def webp_chunks(data):
    """The chunks inside a RIFF/WEBP file."""
    pos, out = 12, []
    while pos + 8 <= len(data):
        kind, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        out.append((kind, data[pos + 8:pos + 8 + size]))
        pos += 8 + size + (size & 1)
    return out


def webp_anim_offset(base):
    """An animation whose first frame (7x5, lossless with alpha) sits at (4, 6) of a 19x13
    canvas: the rest of the canvas is transparent black in libwebp's animation decoder."""
    small = base.crop((3, 2, 10, 7)).convert("RGBA")
    small.putalpha(Image.linear_gradient("L").resize((7, 5)))
    buf = io.BytesIO()
    small.save(buf, "WEBP", lossless=True, exact=True)
    frame1 = b"".join(riff_chunk(k, d) for k, d in webp_chunks(buf.getvalue())
                      if k in (b"VP8L", b"VP8 ", b"ALPH"))
    buf = io.BytesIO()
    base.save(buf, "WEBP", lossless=True)
    frame2 = b"".join(riff_chunk(k, d) for k, d in webp_chunks(buf.getvalue())
                      if k in (b"VP8L", b"VP8 ", b"ALPH"))
    body = riff_chunk(b"VP8X", bytes([0x12, 0, 0, 0]) + u24(W - 1) + u24(H - 1))
    body += riff_chunk(b"ANIM", b"\x40\x80\xc0\xff" + struct.pack("<H", 0))
    body += riff_chunk(b"ANMF", u24(2) + u24(3) + u24(6) + u24(4) + u24(100) + b"\0" + frame1)
    body += riff_chunk(b"ANMF", u24(0) + u24(0) + u24(W - 1) + u24(H - 1) + u24(100) + b"\0" +
                       frame2)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def webp_cases(base):
    rgba = base.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize((W, H)))
    files = {}
    for name, img, kw in [
            ("webp_lossy.webp", base, dict(quality=80)),
            ("webp_lossy_alpha.webp", rgba, dict(quality=80)),
            ("webp_lossless.webp", base, dict(lossless=True)),
            ("webp_lossless_alpha.webp", rgba, dict(lossless=True, exact=True)),
            ("webp_lossy_big.webp", synth(61, 45), dict(quality=60))]:
        buf = io.BytesIO()
        img.save(buf, "WEBP", **kw)
        files[name] = buf.getvalue()
    buf = io.BytesIO()
    frames = [base, base.transpose(Image.Transpose.FLIP_TOP_BOTTOM)]
    frames[0].save(buf, "WEBP", save_all=True, append_images=frames[1:], duration=100,
                   quality=70)
    files["webp_anim.webp"] = buf.getvalue()
    files["webp_anim_offset.webp"] = webp_anim_offset(base)
    return files


def pillow_rgb(data):
    im = Image.open(io.BytesIO(data))
    return im.size, im.convert("RGB").tobytes()


def main():
    assert PIL.__version__ == "9.4.0", "expected pixels are Pillow 9.4.0's, not " + \
        PIL.__version__
    os.makedirs(OUT, exist_ok=True)
    base = synth(W, H)
    files = {}
    for make in (png_cases, bmp_cases, gif_cases, webp_cases):
        files.update(make(base))
    lines = ["# file width height fnv1a64(Pillow 9.4.0 Image.open(f).convert('RGB').tobytes())"]
    for name in sorted(files):
        data = files[name]
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        (w, h), rgb = pillow_rgb(data)
        lines.append("%s %d %d %016x" % (name, w, h, fnv1a64(rgb)))
    with open("formats_expect.txt", "w") as f:
        f.write("\n".join(lines) + "\n")
    total = sum(len(d) for d in files.values())
    print("%d files, %d bytes" % (len(files), total))


if __name__ == "__main__":
    main()
