/// Writes a minimal DICOM Part 10 file (explicit VR little endian): the File Meta Information and the patient,
/// study, series and instance attributes a registry reads, plus an 8×8 MONOCHROME2 image. For synthetic test and
/// demo data; pydicom reads what it writes.
package enum DICOMWriter {
    /// What the file says.
    package struct Attributes: Sendable {
        package var patientID: String
        package var patientName: String
        package var patientBirthDate: String
        package var patientSex: String
        package var studyInstanceUID: String
        package var seriesInstanceUID: String
        package var sopInstanceUID: String
        package var modality: String
        package var studyDate: String
        package var studyDescription: String
        package init(patientID: String, patientName: String, patientBirthDate: String, patientSex: String, studyInstanceUID: String, seriesInstanceUID: String, sopInstanceUID: String, modality: String, studyDate: String, studyDescription: String) {
            self.patientID = patientID
            self.patientName = patientName
            self.patientBirthDate = patientBirthDate
            self.patientSex = patientSex
            self.studyInstanceUID = studyInstanceUID
            self.seriesInstanceUID = seriesInstanceUID
            self.sopInstanceUID = sopInstanceUID
            self.modality = modality
            self.studyDate = studyDate
            self.studyDescription = studyDescription
        }
    }

    static let secondaryCapture = "1.2.840.10008.5.1.4.1.1.7"
    static let explicitLittle = "1.2.840.10008.1.2.1"

    /// The file's bytes.
    package static func write(_ a: Attributes) -> [UInt8] {
        func element(_ group: UInt16, _ elem: UInt16, _ vr: String, _ value: [UInt8]) -> [UInt8] {
            var v = value
            if v.count % 2 == 1 { v.append(vr == "UI" || vr == "OB" ? 0 : 0x20) }
            var out = le16(group) + le16(elem) + Array(vr.utf8)
            if ["OB", "OW", "SQ", "UN", "UT", "UC", "UR"].contains(vr) {
                out += [0, 0] + le32(UInt32(v.count))
            } else {
                out += le16(UInt16(v.count))
            }
            return out + v
        }
        func text(_ g: UInt16, _ e: UInt16, _ vr: String, _ s: String) -> [UInt8] { element(g, e, vr, Array(s.utf8)) }
        func us(_ g: UInt16, _ e: UInt16, _ n: UInt16) -> [UInt8] { element(g, e, "US", le16(n)) }
        var meta = element(0x0002, 0x0001, "OB", [0, 1])
        meta += text(0x0002, 0x0002, "UI", secondaryCapture)
        meta += text(0x0002, 0x0003, "UI", a.sopInstanceUID)
        meta += text(0x0002, 0x0010, "UI", explicitLittle)
        meta += text(0x0002, 0x0012, "UI", "2.25.1")
        var out = [UInt8](repeating: 0, count: 128) + Array("DICM".utf8)
        out += element(0x0002, 0x0000, "UL", le32(UInt32(meta.count))) + meta
        out += text(0x0008, 0x0005, "CS", "ISO_IR 192")
        out += text(0x0008, 0x0016, "UI", secondaryCapture)
        out += text(0x0008, 0x0018, "UI", a.sopInstanceUID)
        out += text(0x0008, 0x0020, "DA", a.studyDate)
        out += text(0x0008, 0x0060, "CS", a.modality)
        out += text(0x0008, 0x1030, "LO", a.studyDescription)
        out += text(0x0010, 0x0010, "PN", a.patientName)
        out += text(0x0010, 0x0020, "LO", a.patientID)
        out += text(0x0010, 0x0030, "DA", a.patientBirthDate)
        out += text(0x0010, 0x0040, "CS", a.patientSex)
        out += text(0x0020, 0x000D, "UI", a.studyInstanceUID)
        out += text(0x0020, 0x000E, "UI", a.seriesInstanceUID)
        out += us(0x0028, 0x0002, 1)
        out += text(0x0028, 0x0004, "CS", "MONOCHROME2")
        out += us(0x0028, 0x0010, 8)
        out += us(0x0028, 0x0011, 8)
        out += us(0x0028, 0x0100, 8)
        out += us(0x0028, 0x0101, 8)
        out += us(0x0028, 0x0102, 7)
        out += us(0x0028, 0x0103, 0)
        out += element(0x7FE0, 0x0010, "OB", (0..<64).map { UInt8($0 * 4) })
        return out
    }

    static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    static func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)] }
}
