/// What the 128-byte preamble of a Part 10 file holds (PS3.10 §7.1). A preamble that is an executable header makes
/// the file a polyglot (CVE-2019-11687): flag it, never run or pass it on blindly.
package enum DICOMPreamble: String, Sendable, Hashable {
    /// All zero bytes, as PS3.10 recommends.
    case zeros
    /// A TIFF header (PS3.10 allows dual-format files).
    case tiff
    /// A Windows PE (`MZ`), ELF or Mach-O header: an executable polyglot.
    case executable
    /// Something else.
    case other

    static func classify(_ p: ArraySlice<UInt8>) -> DICOMPreamble {
        let b = Array(p.prefix(4))
        if p.allSatisfy({ $0 == 0 }) { return .zeros }
        if b.starts(with: [0x4D, 0x5A]) || b == [0x7F, 0x45, 0x4C, 0x46]
            || [[0xFE, 0xED, 0xFA, 0xCE], [0xFE, 0xED, 0xFA, 0xCF], [0xCE, 0xFA, 0xED, 0xFE], [0xCF, 0xFA, 0xED, 0xFE], [0xCA, 0xFE, 0xBA, 0xBE]].contains(b)
        {
            return .executable
        }
        if b == [0x49, 0x49, 0x2A, 0x00] || b == [0x4D, 0x4D, 0x00, 0x2A] { return .tiff }
        return .other
    }
}

/// The Image Pixel module (PS3.3 C.7.6.3), the VOI LUT window (C.11.2) and the modality rescale (C.11.1) of a data
/// set's top level, and where its pixel data lies: enough to preview the first frame of native (uncompressed) data.
package struct DICOMPixelModule: Sendable, Hashable {
    /// (0028,0002) Samples per Pixel.
    package var samplesPerPixel = 0
    /// (0028,0004) Photometric Interpretation (`MONOCHROME1`, `MONOCHROME2`, `RGB`…).
    package var photometricInterpretation = ""
    /// (0028,0006) Planar Configuration (0: interleaved, 1: by plane).
    package var planarConfiguration = 0
    /// (0028,0008) Number of Frames (1 when absent).
    package var numberOfFrames = 1
    /// (0028,0010) Rows and (0028,0011) Columns.
    package var rows = 0
    package var columns = 0
    /// (0028,0100) Bits Allocated, (0028,0101) Bits Stored, (0028,0103) Pixel Representation (1: two's complement).
    package var bitsAllocated = 0
    package var bitsStored = 0
    package var pixelRepresentation = 0
    /// (0028,1050) Window Center and (0028,1051) Window Width, the first of each.
    package var windowCenter: Double?
    package var windowWidth: Double?
    /// (0028,1053) Rescale Slope and (0028,1052) Rescale Intercept.
    package var rescaleSlope = 1.0
    package var rescaleIntercept = 0.0
    /// The byte range of native (7FE0,0010) Pixel Data in the file; nil when there is none or it is encapsulated.
    package var nativePixelData: Range<Int>?
    /// Whether the pixel data is encapsulated (compressed: JPEG, JPEG 2000, RLE…).
    package var encapsulated = false
    /// Whether native data is big endian (the retired explicit VR big endian syntax).
    package var bigEndian = false

    /// Whether the file has pixel data at all.
    package var hasPixelData: Bool { nativePixelData != nil || encapsulated }
}

/// The metadata a registry needs from a DICOM Part 10 file (PS3.10), read without touching pixel data.
package struct DICOMFile: Sendable, Hashable {
    /// What the preamble holds.
    package var preamble: DICOMPreamble
    /// (0002,0010) Transfer Syntax UID.
    package var transferSyntaxUID: String
    /// (0002,0002) Media Storage SOP Class UID.
    package var mediaStorageSOPClassUID: String
    /// (0002,0003) Media Storage SOP Instance UID.
    package var mediaStorageSOPInstanceUID: String
    /// (0008,0016) SOP Class UID.
    package var sopClassUID: String
    /// (0008,0018) SOP Instance UID.
    package var sopInstanceUID: String
    /// (0020,000D) Study Instance UID.
    package var studyInstanceUID: String
    /// (0020,000E) Series Instance UID.
    package var seriesInstanceUID: String
    /// (0010,0020) Patient ID. PHI.
    package var patientID: String
    /// (0010,0010) Patient's Name, components separated by `^`. PHI.
    package var patientName: String
    /// (0010,0030) Patient's Birth Date (YYYYMMDD). PHI.
    package var patientBirthDate: String
    /// (0010,0040) Patient's Sex.
    package var patientSex: String
    /// (0008,0060) Modality.
    package var modality: String
    /// (0008,0020) Study Date (YYYYMMDD).
    package var studyDate: String
    /// (0008,0050) Accession Number.
    package var accessionNumber: String
    /// (0008,1030) Study Description.
    package var studyDescription: String
    /// (0008,0005) Specific Character Set.
    package var specificCharacterSet: String
    /// The Image Pixel module's attributes and where the pixel data is (PS3.3 C.7.6.3).
    package var pixels: DICOMPixelModule

    init() {
        preamble = .zeros
        transferSyntaxUID = ""
        mediaStorageSOPClassUID = ""
        mediaStorageSOPInstanceUID = ""
        sopClassUID = ""
        sopInstanceUID = ""
        studyInstanceUID = ""
        seriesInstanceUID = ""
        patientID = ""
        patientName = ""
        patientBirthDate = ""
        patientSex = ""
        modality = ""
        studyDate = ""
        accessionNumber = ""
        studyDescription = ""
        specificCharacterSet = ""
        pixels = DICOMPixelModule()
    }

    /// Reads a Part 10 file: preamble, `DICM`, the explicit-VR little-endian meta group, then the data set in its
    /// transfer syntax (implicit VR LE, explicit VR LE, explicit VR BE, and the encapsulated syntaxes whose data set is
    /// explicit VR LE). Every element is walked to the end of the file — sequences and encapsulated pixel data by their
    /// items — so a truncated file is refused, but no value other than the attributes above is copied.
    package init(reading bytes: [UInt8]) throws(DICOMError) {
        self.init()
        var reader = DICOMReader(bytes: bytes)
        try reader.read(into: &self)
    }
}
