"""Reference outputs of Pillow's bicubic resize for host/src/deit/preprocess.rs's test.

Usage: python3 -m venv venv && venv/bin/pip install pillow && venv/bin/python scripts/reference/pil_bicubic.py
"""
import hashlib

import PIL
from PIL import Image


def lcg_image(length):
    state, out = 12345, bytearray()
    for _ in range(length):
        state = (state * 1103515245 + 12345) % 2**32
        out.append((state >> 16) & 0xFF)
    return bytes(out)


small = Image.frombytes("L", (5, 5), lcg_image(25)).resize((3, 3), Image.BICUBIC)
rgb = Image.frombytes("RGB", (28, 28), lcg_image(28 * 28 * 3)).resize((224, 224), Image.BICUBIC)
gray = Image.frombytes("L", (28, 28), lcg_image(28 * 28)).resize((224, 224), Image.BICUBIC)
print("Pillow", PIL.__version__)
print("PIL_5_TO_3", list(small.tobytes()))
print("PIL_28_TO_224_RGB_MD5", hashlib.md5(rgb.tobytes()).hexdigest())
print("PIL_28_TO_224_GRAY_MD5", hashlib.md5(gray.tobytes()).hexdigest())
