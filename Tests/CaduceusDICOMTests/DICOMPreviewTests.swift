import CaduceusDICOM
import CaduceusTestSupport
import Foundation
import Testing

func previewScript() -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/oracles/dicom_preview.py").path
}

/// Writes a synthetic image of `kind` with pydicom (see `scripts/oracles/dicom_preview.py`); returns its path.
func pydicomImage(_ kind: String, in dir: TemporaryDirectory) throws -> String {
    let path = dir.file(kind + ".dcm")
    let run = try ProcessRunner.run(
        python(), [previewScript(), "write", path, kind, "SYN-\(kind)", "Synthetic^Preview", "19700101", "O"])
    try #require(run.ok, "pydicom could not write \(kind): \(run.stderr.prefix(400))")
    return path
}

@Suite("DICOM preview of the first frame")
struct DICOMPreviewTests {
    @Test(
        "8/16-bit monochrome (rescale, window, own range, MONOCHROME1, implicit VR) and 8-bit RGB (interleaved, planar) match pydicom + numpy sample for sample",
        arguments: ["ct16", "mono1", "mr8", "rgb8", "rgbplanar"])
    func matchesPydicom(_ kind: String) throws {
        let dir = try TemporaryDirectory()
        let path = try pydicomImage(kind, in: dir)
        let run = try ProcessRunner.run(python(), [previewScript(), "oracle", path])
        try #require(run.ok)
        let oracle = try #require(
            (try JSONSerialization.jsonObject(with: run.stdout) as? [String: [String: Any]])?[path])
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let file = try DICOMFile(reading: bytes)
        let raster = try DICOMPreview.firstFrame(of: bytes, file, maxSide: 4096)
        #expect(
            raster.width == oracle["width"] as? Int && raster.height == oracle["height"] as? Int
                && raster.channels == oracle["channels"] as? Int)
        let expected = Array(Data(base64Encoded: oracle["samples"] as? String ?? "") ?? Data())
        #expect(raster.samples.count == expected.count)
        let differing = zip(raster.samples, expected).filter { $0 != $1 }.count
        #expect(differing == 0, "\(kind): \(differing) samples differ from pydicom + numpy")
    }

    @Test("the pixel module is read as pydicom wrote it: size, bits, sign, window, rescale, where the pixel data lies")
    func pixelModule() throws {
        let dir = try TemporaryDirectory()
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: try pydicomImage("ct16", in: dir))))
        let p = try DICOMFile(reading: bytes).pixels
        #expect(
            p.rows == 96 && p.columns == 128 && p.samplesPerPixel == 1 && p.photometricInterpretation == "MONOCHROME2")
        #expect(p.bitsAllocated == 16 && p.bitsStored == 16 && p.pixelRepresentation == 1)
        #expect(
            p.windowCenter == 40 && p.windowWidth == 400 && p.rescaleIntercept == -24 && p.rescaleSlope == 1,
            "the first of several windows")
        #expect(p.nativePixelData?.count == 96 * 128 * 2 && !p.encapsulated)
    }

    @Test("compressed pixel data gets no preview, said clearly (dicom.no-preview); a file without pixel data neither")
    func compressed() throws {
        let dir = try TemporaryDirectory()
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: try pydicomImage("rle16", in: dir))))
        let file = try DICOMFile(reading: bytes)
        #expect(file.pixels.encapsulated && file.pixels.nativePixelData == nil)
        #expect(throws: DICOMError.self) { try DICOMPreview.firstFrame(of: bytes, file) }
        do { _ = try DICOMPreview.firstFrame(of: bytes, file) } catch {
            #expect(
                error.code == "dicom.no-preview" && error.message.contains("compressed")
                    && error.message.contains("1.2.840.10008.1.2.5"))
        }
        // Our own writer's 8 × 8 ramp previews as it is; without its pixel data element, there is nothing to preview.
        let written = DICOMWriter.write(
            DICOMWriter.Attributes(
                patientID: "SYN-1", patientName: "Synthetic^Bare", patientBirthDate: "19700101", patientSex: "O",
                studyInstanceUID: "2.25.1", seriesInstanceUID: "2.25.2", sopInstanceUID: "2.25.3", modality: "OT",
                studyDate: "20260101", studyDescription: "Ramp"))
        let ramp = try DICOMPreview.firstFrame(of: written, try DICOMFile(reading: written))
        #expect(ramp.width == 8 && ramp.height == 8 && ramp.samples == (0..<64).map { UInt8($0 * 4) })
        let bare = Array(written.dropLast(12 + 64))
        do {
            _ = try DICOMPreview.firstFrame(of: bare, try DICOMFile(reading: bare));
            Issue.record("a preview of nothing")
        } catch {
            #expect(error.code == "dicom.no-preview" && error.message.contains("no pixel data"))
        }
    }

    @Test("a large frame is reduced to the preview size, keeping its aspect")
    func reduced() throws {
        let dir = try TemporaryDirectory()
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: try pydicomImage("rgb8", in: dir))))
        let r = try DICOMPreview.firstFrame(of: bytes, try DICOMFile(reading: bytes), maxSide: 64)
        #expect(r.width == 64 && r.height == 48 && r.channels == 3 && r.samples.count == 64 * 48 * 3)
    }
}
