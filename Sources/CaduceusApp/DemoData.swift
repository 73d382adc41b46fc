import CaduceusDICOM
import Foundation

/// Synthetic patients and messages for the demo and the end-to-end tests. Nobody real.
package enum DemoData {
    /// Hospital A's MRN for the demo patient.
    package static let mrnA = "A-10042"
    /// Hospital B's MRN for the same person.
    package static let mrnB = "B-77310"
    /// Name and birth date (used to show they never appear at rest in clear).
    package static let family = "QUILLFEATHER", given = "ROSALIND", birthDate = "19710312"

    /// ADT^A04 registering the patient at hospital A (domain `LocalFederation.domainA`).
    package static func adtA04(mrn: String = mrnA, authority: String = LocalFederation.domainA, control: String = "A-ADT-1") -> [UInt8] {
        Array(([
            "MSH|^~\\&|EMR|HOSPA|CADUCEUS|HOSPA|20261120090000||ADT^A04^ADT_A01|\(control)|P|2.5.1",
            "EVN|A04|20261120090000",
            "PID|1||\(mrn)^^^HOSPA&\(authority)&ISO^MR||\(family)^\(given)^J||\(birthDate)|F|||22 LANTERN WAY^^RIVERTON^WY^82501^USA||^PRN^PH^^1^307^5550142",
            "NK1|1|QUILLFEATHER^HOLLIS|SPO^Spouse^HL70063||^PRN^PH^^1^307^5550177||EC^Emergency contact^HL70131",
            "PV1|1|O|CLINIC1",
            "IN1|1|GOLD^Gold plan^L|INS7|SYNTHETIC MUTUAL INSURANCE||||GRP-4410" + String(repeating: "|", count: 28) + "POL-88231",
        ].joined(separator: "\r") + "\r").utf8)
    }

    /// ORU^R01 with two results for the patient at hospital A.
    package static func oruR01(mrn: String = mrnA, authority: String = LocalFederation.domainA) -> [UInt8] {
        Array(([
            "MSH|^~\\&|LAB|HOSPA|CADUCEUS|HOSPA|20261120100000||ORU^R01^ORU_R01|A-ORU-1|P|2.5.1",
            "PID|1||\(mrn)^^^HOSPA&\(authority)&ISO^MR||\(family)^\(given)^J||\(birthDate)|F",
            "OBR|1|ORD-1|FIL-1|4548-4^Hemoglobin A1c^LN|||20261120093000|||||||||||||||20261120095500|||F",
            "OBX|1|NM|4548-4^Hemoglobin A1c^LN||6.9|%^%^UCUM|4.0-5.6|H|||F|||20261120093000",
            "OBX|2|NM|2345-7^Glucose^LN||131|mg/dL^mg/dL^UCUM|70-99|H|||F|||20261120093000",
        ].joined(separator: "\r") + "\r").utf8)
    }

    /// ADT^A04 registering the same person at hospital B under B's MRN.
    package static func adtA04B() -> [UInt8] { adtA04(mrn: mrnB, authority: LocalFederation.domainB, control: "B-ADT-1") }

    /// A second MRN hospital B gave the same person by mistake (a duplicate registration the MPI queues for review).
    package static let mrnBDuplicate = "B-77399"

    /// ADT^A04 registering the duplicate at hospital B.
    package static func adtA04BDuplicate() -> [UInt8] { adtA04(mrn: mrnBDuplicate, authority: LocalFederation.domainB, control: "B-ADT-2") }

    /// A synthetic chest X-ray instance for the patient at hospital A.
    package static func dicom(sop: String = "2.25.4004217734100019") -> [UInt8] {
        DICOMWriter.write(DICOMWriter.Attributes(
            patientID: mrnA, patientName: "\(family)^\(given)", patientBirthDate: birthDate, patientSex: "F",
            studyInstanceUID: "2.25.4004217734100017", seriesInstanceUID: "2.25.4004217734100018", sopInstanceUID: sop,
            modality: "CR", studyDate: "20261120", studyDescription: "Chest X-ray PA"))
    }
}
