#!/usr/bin/env python3
"""Synthetic DICOM images written by pydicom, and the preview pydicom + numpy expect of them.

  dicom_preview.py write PATH KIND PATIENT_ID PATIENT_NAME BIRTH_DATE SEX
      KIND: ct16 (16-bit signed MONOCHROME2 CT with a rescale and a window), mono1 (16-bit unsigned MONOCHROME1,
      no window), mr8 (8-bit MONOCHROME2), rgb8 (8-bit RGB, interleaved), rgbplanar (8-bit RGB by plane),
      rle16 (the ct16 image, RLE Lossless compressed: no preview). Every name in them is synthetic.
  dicom_preview.py oracle FILE...
      prints JSON {file: {"width", "height", "channels", "samples" (base64)} or {"compressed": true}}: the first frame
      to 8 bits as PS3.3 C.11.1 (rescale) and C.11.2.1.2.1 (the window's linear function) say, the frame's own range
      for 16-bit data without a window, MONOCHROME1 inverted — computed with numpy from pydicom's pixel_array.
"""
import base64
import json
import sys

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, RLELossless, generate_uid


def image(kind, rows=96, cols=128):
    y, x = np.mgrid[0:rows, 0:cols]
    disc = ((x - cols / 2) ** 2 + (y - rows / 2) ** 2) < (min(rows, cols) / 3) ** 2
    if kind in ("ct16", "rle16"):
        a = (x * 20 - 1200).astype(np.int16)  # a ramp from -1200 to about 1340
        a[disc] = 300
        return a
    if kind == "mono1":
        a = (y * 300).astype(np.uint16)
        a[disc] = 1000
        return a
    if kind == "mr8":
        a = (x * 2).astype(np.uint8)
        a[disc] = 200
        return a
    rgb = np.zeros((rows, cols, 3), dtype=np.uint8)
    rgb[..., 0] = (x * 2).astype(np.uint8)
    rgb[..., 1] = (y * 2).astype(np.uint8)
    rgb[disc, 2] = 255
    return rgb


def write(path, kind, pid, name, birth, sex):
    meta = FileMetaDataset()
    sop_class = "1.2.840.10008.5.1.4.1.1.2" if kind in ("ct16", "rle16") else "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ImplicitVRLittleEndian if kind == "mono1" else ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientID = pid
    ds.PatientName = name
    ds.PatientBirthDate = birth
    ds.PatientSex = sex
    ds.Modality = "CT" if kind in ("ct16", "rle16") else "OT"
    ds.StudyDate = "20261121"
    ds.AccessionNumber = "ACC-" + kind.upper()
    ds.StudyDescription = {"ct16": "CT chest (synthetic)", "rle16": "CT chest, compressed (synthetic)"}.get(kind, "Synthetic " + kind)
    a = image(kind)
    ds.Rows, ds.Columns = a.shape[0], a.shape[1]
    if a.ndim == 3:
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 3, "RGB"
        ds.PlanarConfiguration = 1 if kind == "rgbplanar" else 0
        ds.BitsAllocated = ds.BitsStored = 8
        ds.HighBit = 7
        ds.PixelRepresentation = 0
        data = a.transpose(2, 0, 1).tobytes() if kind == "rgbplanar" else a.tobytes()
    else:
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME1" if kind == "mono1" else "MONOCHROME2"
        ds.BitsAllocated = 8 if a.dtype == np.uint8 else 16
        ds.BitsStored = 8 if a.dtype == np.uint8 else (12 if kind == "mono1" else 16)
        ds.HighBit = ds.BitsStored - 1
        ds.PixelRepresentation = 1 if a.dtype == np.int16 else 0
        data = a.tobytes()
        if kind in ("ct16", "rle16"):
            ds.RescaleIntercept, ds.RescaleSlope = "-24", "1"
            ds.WindowCenter, ds.WindowWidth = ["40", "300"], ["400", "1500"]
    ds.PixelData = data
    if kind == "rle16":
        ds.compress(RLELossless, a, encoding_plugin="pydicom")
    ds.save_as(path, enforce_file_format=True)


def oracle(path):
    ds = pydicom.dcmread(path)
    if ds.file_meta.TransferSyntaxUID.is_compressed:
        return {"compressed": True}
    a = ds.pixel_array
    if ds.SamplesPerPixel == 3:
        out = a.astype(np.uint8)
        return {"width": int(ds.Columns), "height": int(ds.Rows), "channels": 3, "samples": base64.b64encode(out.tobytes()).decode()}
    x = a.astype(np.float64) * float(ds.get("RescaleSlope", 1)) + float(ds.get("RescaleIntercept", 0))
    wc, ww = ds.get("WindowCenter"), ds.get("WindowWidth")
    first = lambda v: float(v[0]) if isinstance(v, pydicom.multival.MultiValue) else float(v)
    if wc is not None and ww is not None and first(ww) >= 1:
        c, w = first(wc), first(ww)
        low, high = c - 0.5 - (w - 1) / 2, c - 0.5 + (w - 1) / 2
        y = ((x - (c - 0.5)) / (w - 1) + 0.5) * 255
        y = np.where(x <= low, 0, np.where(x > high, 255, y))
    elif ds.BitsAllocated == 16 and x.max() > x.min():
        y = (x - x.min()) / (x.max() - x.min()) * 255
    else:
        y = x
    out = np.clip(y, 0, 255).astype(np.uint8)  # truncation toward zero, as the Swift UInt8(Double) conversion
    if ds.PhotometricInterpretation == "MONOCHROME1":
        out = 255 - out
    return {"width": int(ds.Columns), "height": int(ds.Rows), "channels": 1, "samples": base64.b64encode(out.tobytes()).decode()}


def main():
    if sys.argv[1] == "write":
        write(*sys.argv[2:8])
    elif sys.argv[1] == "oracle":
        print(json.dumps({f: oracle(f) for f in sys.argv[2:]}))
    else:
        sys.exit("usage: dicom_preview.py write|oracle ...")


if __name__ == "__main__":
    main()
