#!/usr/bin/env python3
"""Copies the browser walk's screenshots the README shows into docs/screenshots/, cropped and reduced.

Usage: readme_screenshots.py SCREENSHOT_DIR OUT_DIR. PNG in through `convert FILE.png ppm:-` (any ImageMagick),
area-averaged downscale with numpy, PNG out with the standard library (zlib). The screenshots come from
PortalBrowserTests, whose federation holds synthetic demo data only.
"""
import os
import struct
import subprocess
import sys
import zlib

import numpy as np

# (source shot, output name, crop height in source pixels or None, output width)
SHOTS = [
    ("17-patient-access-report", "patient-access-report", 2700, 820),
    ("12-nurse-document-breakglass", "medical-document-breakglass", 1400, 1000),
    ("34-nurse-dicom-view", "medical-dicom-view", None, 1000),
    ("43-privacy-burst", "privacy-console", 1500, 1000),
    ("19-admin-overview", "admin-overview", None, 1000),
    ("28-card-face", "card-face", 540, 1000),
    ("33-nurse-transfer-accepted", "medical-transfer-inbox", None, 1000),
    ("33a-nurse-transfer-register", "medical-transfer-register", None, 1000),
    ("05c-patient-consent-withheld", "patient-consents", 1450, 1000),
    ("42-cards-token-issued", "card-token-issued", 1100, 1000),
]


def read(path):
    ppm = subprocess.run(["convert", path, "ppm:-"], check=True, capture_output=True).stdout
    parts, pos = [], 0
    while len(parts) < 4:  # P6, width, height, maxval (whitespace separated, no comments from convert)
        while ppm[pos:pos + 1].isspace():
            pos += 1
        start = pos
        while not ppm[pos:pos + 1].isspace():
            pos += 1
        parts.append(ppm[start:pos])
    assert parts[0] == b"P6" and parts[3] == b"255", "8-bit binary PPM expected"
    w, h = int(parts[1]), int(parts[2])
    return np.frombuffer(ppm[pos + 1:pos + 1 + w * h * 3], dtype=np.uint8).reshape(h, w, 3)


def reduce(img, width):
    h, w, _ = img.shape
    if w <= width:
        return img
    height = round(h * width / w)
    ys = (np.arange(height + 1) * h / height).astype(int)
    xs = (np.arange(width + 1) * w / width).astype(int)
    acc = np.add.reduceat(np.add.reduceat(img.astype(np.float64), ys[:-1], axis=0), xs[:-1], axis=1)
    counts = np.outer(np.diff(ys), np.diff(xs))[..., None]
    return np.clip(acc / counts + 0.5, 0, 255).astype(np.uint8)


def write(path, img):
    h, w, _ = img.shape
    raw = b"".join(b"\0" + img[y].tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    shots, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    for source, name, crop, width in SHOTS:
        img = read(os.path.join(shots, source + ".png"))
        if crop:
            img = img[:crop]
        path = os.path.join(out, name + ".png")
        write(path, reduce(img, width))
        print(path, os.path.getsize(path))


if __name__ == "__main__":
    main()
