#!/usr/bin/env python3
"""Writes the seed corpora under Fuzz/Corpus/<target>/ from the project's synthetic data.

Everything here is synthetic: the HL7 messages are Sources/CaduceusTestSupport/SampleHL7.swift (made-up people), the
CDA seeds are the headers of HL7's published C-CDA examples (Tests/Fixtures/hl7/ccda, fictional patients), the keys
and certificates are made on the spot with openssl and thrown away, the DICOM files are written by pydicom from
invented attributes. Run it with the project's venv (scripts/bootstrap.sh): `.venv/bin/python Fuzz/make_seeds.py`.
Seeds are regenerated only where a folder is empty, so corpus files a fuzz run added and we kept stay.
"""
import base64
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "Fuzz", "Corpus")
FORCE = "--force" in sys.argv


def write(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def wanted(target):
    folder = os.path.join(CORPUS, target)
    return FORCE or not os.path.isdir(folder) or not os.listdir(folder)


def sample_hl7():
    """The messages of SampleHL7.swift: each `package static let x = [ "…", … ].joined(separator: "\\r") + "\\r"`."""
    text = open(os.path.join(ROOT, "Sources/CaduceusTestSupport/SampleHL7.swift"), encoding="utf-8").read()
    out = {}
    for m in re.finditer(r'package static let (\w+) = \[\n(.*?)\n    \]\.joined', text, re.S):
        lines = re.findall(r'^\s*"((?:[^"\\]|\\.)*)",?\s*$', m.group(2), re.M)
        segments = [line.replace("\\\\", "\\").replace('\\"', '"') for line in lines]
        out[m.group(1)] = ("\r".join(segments) + "\r").encode("utf-8")
    return out


def run(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, **kw).stdout


def main():
    hl7 = sample_hl7()
    assert len(hl7) >= 6, "SampleHL7.swift changed shape"
    if wanted("hl7"):
        for name, data in hl7.items():
            write("hl7", name, data)
        write("hl7", "lf-endings", hl7["adtA40"].replace(b"\r", b"\n"))
        write("hl7", "other-delimiters", hl7["adtA40"].replace(b"|", b"#").replace(b"^", b"!").replace(b"MSH#!~\\&", b"MSH#!~\\&"))
        write("hl7", "latin1", b"MSH|^~\\&|A|B|C|D|20260101||ADT^A08^ADT_A01|L1|P|2.5.1|||AL|NE||8859/1\rPID|1||9^^^X&1.2.3&ISO^MR||M\xdcLLER^JOS\xc9\\X41\\\\H\\b\\N\\||19761105|M\r")
    if wanted("hl7batch"):
        msgs = [hl7["adtA01"], hl7["oruR01"], hl7["adtA40"]]
        batch = b"FHS|^~\\&|LAB|GOODHEALTH|CADUCEUS|HOSP1|20260104\rBHS|^~\\&|LAB|GOODHEALTH|CADUCEUS|HOSP1|20260104\r" + b"".join(msgs) + b"BTS|3\rFTS|1\r"
        write("hl7batch", "fhs-bhs-3", batch)
        write("hl7batch", "bare-run", hl7["adtA40"] + hl7["qbpQ23"])
        write("hl7batch", "two-batches", b"BHS|^~\\&|A\r" + hl7["adtA40"] + b"BTS|1\rBHS|^~\\&|A\r" + hl7["qbpQ22"] + b"BTS|1\r")
        # The first byte seeds the streaming reader's chunk sizes (the rest is the batch).
        write("hl7batch", "chunked-fhs-bhs-3", b"\x05" + batch)
        two = b"BHS|^~\\&|A\r" + hl7["adtA40"] + b"BTS|1\rBHS|^~\\&|A\r" + hl7["qbpQ22"] + b"BTS|1\r"
        write("hl7batch", "chunked-two-batches-lf", b"\x02" + two.replace(b"\r", b"\r\n"))
        msg = b"MSH|^~\\&|EMR|H|CAD|H|20260101||ADT^A01|M1|P|2.5.1\rPID|1||1^^^A||^Mar\xc3\xada\r"
        write("hl7batch", "chunked-utf8-undeclared-wrong-count", b"\x03BHS|^~\\&|EMR|H||||||||B1\r" + msg + msg.replace(b"M1", b"M2") + b"BTS|3\r")
        write("hl7batch", "chunked-mixed-delimiters", b"\x07FHS|^~\\&|A\rMSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5.1\rPID|1\rMSH#^~\\&#A\rPV1|1\rFTS|2\rMSH|^~\\&|A\r")
    if wanted("mllp"):
        frame = lambda p: b"\x0b" + p + b"\x1c\x0d"
        write("mllp", "one-frame", b"\x07" + frame(hl7["adtA40"]))
        write("mllp", "two-frames-junk", b"\x03" + b"junk" + frame(hl7["qbpQ23"]) + b"\r\n" + frame(hl7["adtA40"]))
        write("mllp", "byte-at-a-time", b"\x00" + frame(hl7["qbpQ22"]))
        write("mllp", "truncated", b"\x05" + b"\x0b" + hl7["adtA40"][:40] + b"\x0b" + hl7["adtA40"] + b"\x1cX")
        write("mllp", "oversized", b"\x09" + frame(b"A" * 200) + frame(b"MSH|^~\\&|x"))
    if wanted("syslog") or wanted("syslogframer"):
        msgs = [
            b'<85>1 2026-11-23T18:00:00.123Z node-a.hospital-a.test caduceus - CADUCEUS-AUDIT [caduceus@32473 seq="1" prev="' + b"0" * 64 + b'" hash="' + b"ab" * 32 + b'"] \xef\xbb\xbf{"event":"110110"}',
            b'<85>1 2026-11-23T18:00:00+01:00 node-b caduceus 77 CADUCEUS-CHECKPOINT [caduceus@32473 seq="9" hash="' + b"cd" * 32 + b'"] {"sequence":9}',
            b"<13>1 - - - - - -",
            b'<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high" esc="a\\"b\\]c"] BOMmsg',
        ]
        if wanted("syslog"):
            for i, m in enumerate(msgs):
                write("syslog", f"message-{i}", m)
        if wanted("syslogframer"):
            write("syslogframer", "frames", b"\x05" + b"".join(str(len(m)).encode() + b" " + m for m in msgs))
            write("syslogframer", "byte-at-a-time", b"\x00" + str(len(msgs[2])).encode() + b" " + msgs[2])
            write("syslogframer", "partial", b"\x03" + b"120 <13>1 - - -")

    with tempfile.TemporaryDirectory() as tmp:
        p = lambda n: os.path.join(tmp, n)
        # A throwaway EC and RSA identity (self-signed), for S/MIME, CMS, PKCS#12 and JWS seeds.
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", p("ec.key"),
            "-out", p("ec.pem"), "-days", "30", "-subj", "/CN=Fuzz Card/O=Fuzz", "-addext", "keyUsage=digitalSignature,keyAgreement")
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", p("rsa.key"), "-out", p("rsa.pem"), "-days", "30",
            "-subj", "/CN=Fuzz Node/O=Fuzz")
        with open(p("content.txt"), "wb") as f:
            f.write(hl7["adtA40"])
        cms = lambda *a: run("openssl", "cms", *a)
        if wanted("smime") or wanted("cms"):
            signed_mime = cms("-sign", "-in", p("content.txt"), "-signer", p("ec.pem"), "-inkey", p("ec.key"), "-binary")
            opaque_mime = cms("-sign", "-in", p("content.txt"), "-signer", p("rsa.pem"), "-inkey", p("rsa.key"), "-nodetach", "-binary")
            gcm_mime = cms("-encrypt", "-in", p("content.txt"), "-aes-256-gcm", "-recip", p("ec.pem"), "-binary")
            cbc_mime = cms("-encrypt", "-in", p("content.txt"), "-aes-256-cbc", "-recip", p("rsa.pem"), "-keyopt", "rsa_padding_mode:oaep",
                           "-keyopt", "rsa_oaep_md:sha256", "-keyopt", "rsa_mgf1_md:sha256", "-binary")
            if wanted("smime"):
                write("smime", "multipart-signed", signed_mime)
                write("smime", "opaque-signed", opaque_mime)
                write("smime", "auth-enveloped", gcm_mime)
                write("smime", "enveloped-cbc-lf", cbc_mime.replace(b"\r\n", b"\n"))
                write("smime", "pem", cms("-encrypt", "-in", p("content.txt"), "-aes-128-gcm", "-recip", p("ec.pem"), "-outform", "PEM"))
            if wanted("cms"):
                write("cms", "signed-detached.der", cms("-sign", "-in", p("content.txt"), "-signer", p("ec.pem"), "-inkey", p("ec.key"), "-binary", "-outform", "DER"))
                write("cms", "signed-attached.der", cms("-sign", "-in", p("content.txt"), "-signer", p("rsa.pem"), "-inkey", p("rsa.key"), "-nodetach", "-binary", "-outform", "DER"))
                write("cms", "signed-stream.ber", cms("-sign", "-in", p("content.txt"), "-signer", p("ec.pem"), "-inkey", p("ec.key"), "-nodetach", "-binary", "-stream", "-outform", "DER"))
                write("cms", "auth-enveloped-ecdh.der", cms("-encrypt", "-in", p("content.txt"), "-aes-256-gcm", "-recip", p("ec.pem"), "-binary", "-outform", "DER"))
                write("cms", "enveloped-oaep.der", cms("-encrypt", "-in", p("content.txt"), "-aes-128-cbc", "-recip", p("rsa.pem"), "-keyopt", "rsa_padding_mode:oaep",
                                                       "-keyopt", "rsa_oaep_md:sha256", "-keyopt", "rsa_mgf1_md:sha256", "-binary", "-outform", "DER"))
                write("cms", "enveloped-stream.ber", cms("-encrypt", "-in", p("content.txt"), "-aes-256-cbc", "-recip", p("ec.pem"), "-binary", "-stream", "-outform", "DER"))
        if wanted("pkcs12"):
            for kind in ("ec", "rsa"):
                write("pkcs12", f"{kind}.p12", run("openssl", "pkcs12", "-export", "-in", p(f"{kind}.pem"), "-inkey", p(f"{kind}.key"),
                                                   "-passout", "pass:fuzz", "-certpbe", "AES-256-CBC", "-keypbe", "AES-256-CBC",
                                                   "-macalg", "sha256", "-iter", "1", "-maciter", "-name", "fuzz"))
        if wanted("jws"):
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.hazmat.primitives.asymmetric import ec, utils
            from cryptography import x509
            key = serialization.load_pem_private_key(open(p("ec.key"), "rb").read(), None)
            cert = x509.load_pem_x509_certificate(open(p("ec.pem"), "rb").read())
            der = cert.public_bytes(serialization.Encoding.DER)
            b64u = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
            for typ, payload in (("caduceus-assertion", {"sub": "card-77", "role": "nurse", "exp": 1790000000}),
                                 ("caduceus-consent", {"patient": "card-12", "decision": "permit"})):
                header = json.dumps({"alg": "ES256", "typ": typ, "x5c": [base64.b64encode(der).decode()]}, sort_keys=True).encode()
                signing_input = b64u(header) + "." + b64u(json.dumps(payload, sort_keys=True).encode())
                r, s = utils.decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
                write("jws", typ, signing_input + "." + b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big")))
            write("jws", "alg-none", b64u(b'{"alg":"none","x5c":[]}') + "." + b64u(b"{}") + ".")

    if wanted("multipart"):
        body = b"--b1\r\nContent-Type: application/json\r\nContent-ID: <metadata>\r\nContent-Transfer-Encoding: binary\r\n\r\n{\"entries\":[]}\r\n" \
               b"--b1\r\nContent-Type: text/xml\r\nContent-ID: <doc1>\r\n\r\n<ClinicalDocument/>\r\n--b1--\r\n"
        write("multipart", "two-parts", b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n' + body)
        write("multipart", "preamble-lf", b"Content-Type: multipart/mixed; boundary=zz\n\npreamble\n--zz\nContent-Type: text/plain\n folded\n\nhello\n--zz--\n")
        write("multipart", "binary-part", b'Content-Type: multipart/mixed; boundary="q"\r\n\r\n--q\r\nContent-Type: application/dicom\r\n\r\n\x00\x01\r\n--\xff\r\n--q--')

    if wanted("xml") or wanted("cda"):
        ccda = os.path.join(ROOT, "Tests/Fixtures/hl7/ccda")
        headers = {}
        for name in ("Diagnostic_Imaging_Report.xml", "Care_Plan.xml", "Operative_Note.xml"):
            text = open(os.path.join(ccda, name), "rb").read()
            cut = text.find(b"<component>")
            headers[name] = text[:cut] + b"</ClinicalDocument>\n" if cut > 0 else text
        if wanted("cda"):
            for name, data in headers.items():
                write("cda", name.replace(".xml", "-header.xml"), data)
        if wanted("xml"):
            write("xml", "header.xml", headers["Diagnostic_Imaging_Report.xml"])
            write("xml", "namespaces.xml", b'<?xml version="1.0" encoding="UTF-8"?>\n<!-- c --><a:r xmlns:a="urn:a" xmlns="urn:d" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
                  b'<b a:x="1" y=\'2\' xsi:type="CD"><c xmlns="">t&amp;&lt;&#65;&#x42;<![CDATA[<raw>]]></c><?pi x?></b><a:e/></a:r>')
            write("xml", "doctype.xml", b'<!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>')
            write("xml", "deep.xml", b"<r>" + b"<d>" * 40 + b"x" + b"</d>" * 40 + b"</r>")

    if wanted("dicom"):
        write_dicom()


def write_dicom():
    import io
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian, JPEGBaseline8Bit
    from pydicom.encaps import encapsulate

    def dataset(syntax, preamble=b"\x00" * 128):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
        meta.MediaStorageSOPInstanceUID = "2.25.1001"
        meta.TransferSyntaxUID = syntax
        ds = Dataset()
        ds.file_meta = meta
        ds.preamble = preamble
        ds.SpecificCharacterSet = "ISO_IR 192"
        ds.SOPClassUID = meta.MediaStorageSOPClassUID
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.StudyDate = "20260101"
        ds.AccessionNumber = "ACC1"
        ds.Modality = "OT"
        ds.StudyDescription = "Fuzz seed"
        ds.PatientName = "Fuzz^Müller"
        ds.PatientID = "4711"
        ds.PatientBirthDate = "19800214"
        ds.PatientSex = "F"
        ds.StudyInstanceUID = "2.25.1002"
        ds.SeriesInstanceUID = "2.25.1003"
        item = Dataset()
        item.CodeValue = "X"
        item.CodingSchemeDesignator = "99FUZZ"
        ds.ProcedureCodeSequence = Sequence([item])
        return ds

    def save(name, ds, implicit, little):
        buf = io.BytesIO()
        ds.save_as(buf, implicit_vr=implicit, little_endian=little, enforce_file_format=True)
        write("dicom", name, buf.getvalue())

    save("explicit-le.dcm", dataset(ExplicitVRLittleEndian), False, True)
    save("implicit-le.dcm", dataset(ImplicitVRLittleEndian), True, True)
    try:
        save("explicit-be.dcm", dataset(ExplicitVRBigEndian), False, False)
    except Exception as e:  # pydicom may refuse to write big endian
        print("dicom: big endian seed skipped:", e)
    ds = dataset(JPEGBaseline8Bit, preamble=b"MZ" + b"\x00" * 126)
    ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored, ds.HighBit = 2, 2, 8, 8, 7
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PixelRepresentation = 1, "MONOCHROME2", 0
    ds.PixelData = encapsulate([b"\xff\xd8\xff\xd9"])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    save("encapsulated-mz-preamble.dcm", ds, False, True)


if __name__ == "__main__":
    main()
