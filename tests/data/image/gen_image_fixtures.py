#!/usr/bin/env python3
"""Regenerates the small image fixtures used by tests/unit/test_image_*.c with Pillow (Debian
12's python3-pil 9.4.0): Pillow BICUBIC resize expectations for a synthetic image (stored as
FNV-1a 64-bit hashes of the resized bytes to keep the repository small), plus tiny grey, CMYK
and EXIF-rotated JPEGs with Pillow's RGB decode of each.

Run from this directory: /usr/bin/python3 gen_image_fixtures.py
"""
import io

from PIL import Image

M32 = 0xFFFFFFFF


def synth(w, h):
    """Same pattern as sk_synth_rgb() in tests/unit/image_test_util.c: noisy 8x8 blocks
    (every third block) between ramps, so both smooth and sharp content are resized."""
    out = bytearray(w * h * 3)
    i = 0
    for y in range(h):
        for x in range(w):
            for c in range(3):
                if ((x // 8) + (y // 8)) % 3 == 0:
                    v = ((x * 0x9E3779B1) ^ (y * 0x85EBCA77) ^ (c * 0xC2B2AE3D)) & M32
                    v ^= v >> 15
                    v = (v * 0x2C1B3C6D) & M32
                    v ^= v >> 12
                    v &= 255
                else:
                    v = (x * 5 + y * 3 + c * 80) & 255
                out[i] = v
                i += 1
    return Image.frombytes("RGB", (w, h), bytes(out))


def fnv1a64(b):
    h = 0xCBF29CE484222325
    for byte in b:
        h ^= byte
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


CASES = [
    (600, 512, 112, 112),
    (1920, 1080, 448, 448),
    (50, 30, 112, 112),
    (1, 1, 112, 112),
    (1, 1, 1, 1),
    (37, 53, 19, 71),
    (640, 480, 448, 448),
    (112, 112, 112, 112),
    (112, 90, 112, 45),
    (300, 1, 7, 3),
    (7, 300, 448, 5),
    (1280, 720, 448, 448),
]


def main():
    with open("resize_expect.txt", "w") as f:
        f.write("# in_w in_h out_w out_h fnv1a64(Pillow BICUBIC RGB bytes)\n")
        for w, h, ow, oh in CASES:
            r = synth(w, h).resize((ow, oh), Image.BICUBIC)
            f.write("%d %d %d %d %016x\n" % (w, h, ow, oh, fnv1a64(r.tobytes())))

    base = synth(16, 16)
    grey = base.convert("L")
    buf = io.BytesIO()
    grey.save(buf, "JPEG", quality=90)
    open("grey16.jpg", "wb").write(buf.getvalue())
    write_ppm("grey16_rgb.ppm", Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))

    cmyk = base.convert("CMYK")
    buf = io.BytesIO()
    cmyk.save(buf, "JPEG", quality=90)
    open("cmyk16.jpg", "wb").write(buf.getvalue())
    write_ppm("cmyk16_rgb.ppm", Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))

    wide = synth(24, 16)
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    wide.save(buf, "JPEG", quality=95, exif=exif.tobytes())
    open("exif6.jpg", "wb").write(buf.getvalue())
    write_ppm("exif6_rgb.ppm", Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def write_ppm(path, img):
    with open(path, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % img.size)
        f.write(img.tobytes())


if __name__ == "__main__":
    main()
