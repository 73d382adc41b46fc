/// Synthetic HL7 v2.5.1 messages for tests (made-up people; no real PHI). Segments end with CR.
package enum SampleHL7 {
    /// An ADT^A01 with PID (two identifiers), PD1, NK1 (emergency contact), PV1 and IN1.
    package static let adtA01 = [
        "MSH|^~\\&|EPIC|GOODHEALTH|CADUCEUS|HOSP1|20260101120000||ADT^A01^ADT_A01|MSG00001|P|2.5.1",
        "EVN|A01|20260101120000",
        "PID|1||4711^^^GOODH&1.2.840.114350.1&ISO^MR~555-44-3333^^^SSA&2.16.840.1.113883.4.1&ISO^SS||DOE^JANE^Q^^DR^^L~SMITH^JANE^^^^^M||19800214|F|||1 MAIN ST^APT 2^SPRINGFIELD^IL^62701^USA^H||^PRN^PH^^1^217^5551234|^WPN^PH^^1^217^5559876",
        "PD1|||GOOD HEALTH CLINIC|1234^WELBY^MARCUS",
        "NK1|1|DOE^JOHN|SPO^Spouse^HL70063|1 MAIN ST^^SPRINGFIELD^IL^62701|^PRN^PH^^1^217^5551234||C^Emergency Contact^HL70131",
        "PV1|1|I|WARD1^101^A||||9876^CASEY^BEN||||||||||||V0001^^^GOODH&1.2.840.114350.1&ISO^VN",
        "IN1|1|PLAN01^Gold Plan|INS01^^^PAYERS&1.2.3.4&ISO|ACME HEALTH INSURANCE||||GRP777||||||||DOE^JANE||||||||||||||||||||POL-12345",
    ].joined(separator: "\r") + "\r"

    /// An ADT^A08 (update) with escapes in the address and a non-ASCII name under UTF-8.
    package static let adtA08UTF8 = [
        "MSH|^~\\&|CERNER|STMARY|CADUCEUS|HOSP2|20260102080000||ADT^A08^ADT_A01|MSG00002|P|2.5.1|||AL|NE||UNICODE UTF-8",
        "EVN|A08|20260102080000",
        "PID|1||A-93^^^STMARY&2.16.840.1.113883.3.72&ISO^MR||MÜLLER^JOSÉ^^^^^L||19761105|M|||12 ELM \\T\\ OAK RD^^SHELBYVILLE^IL^62565||^PRN^PH^^1^217^5550101",
    ].joined(separator: "\r") + "\r"

    /// An ADT^A40 merge (MRG).
    package static let adtA40 = [
        "MSH|^~\\&|EPIC|GOODHEALTH|CADUCEUS|HOSP1|20260103090000||ADT^A40^ADT_A39|MSG00003|P|2.5.1",
        "EVN|A40|20260103090000",
        "PID|1||4711^^^GOODH&1.2.840.114350.1&ISO^MR||DOE^JANE^Q||19800214|F",
        "MRG|4712^^^GOODH&1.2.840.114350.1&ISO^MR",
    ].joined(separator: "\r") + "\r"

    /// An ORU^R01 with OBR, numeric OBX, a text OBX with delimiter escapes, and NTE.
    package static let oruR01 = [
        "MSH|^~\\&|LAB|GOODHEALTH|CADUCEUS|HOSP1|20260104101500||ORU^R01^ORU_R01|MSG00004|P|2.5.1",
        "PID|1||4711^^^GOODH&1.2.840.114350.1&ISO^MR||DOE^JANE^Q||19800214|F",
        "OBR|1|ORD123|FIL456|24331-1^Lipid panel^LN|||20260104093000|||||||||||||||20260104101000|||F",
        "OBX|1|NM|2093-3^Cholesterol^LN||182|mg/dL^mg/dL^UCUM|<200|N|||F|||20260104093000",
        "OBX|2|FT|11502-2^Lab report^LN||Fasting sample OK \\F\\ no \\S\\ issues \\E\\ noted||||||F",
        "NTE|1|L|Specimen slightly hemolysed~Repeat not required",
    ].joined(separator: "\r") + "\r"

    /// A PIX query QBP^Q23 for 4711 in GOODH, asking for all domains.
    package static let qbpQ23 = [
        "MSH|^~\\&|PIXCONSUMER|HOSP2|CADUCEUS|HIE|20260105110000||QBP^Q23^QBP_Q21|MSG00005|P|2.5.1",
        "QPD|IHE PIX Query|Q0001|4711^^^GOODH&1.2.840.114350.1&ISO^MR",
        "RCP|I",
    ].joined(separator: "\r") + "\r"

    /// A PDQ query QBP^Q22 by family name and birth date, at most 10 records.
    package static let qbpQ22 = [
        "MSH|^~\\&|PDQCONSUMER|HOSP2|CADUCEUS|HIE|20260105110500||QBP^Q22^QBP_Q21|MSG00006|P|2.5.1",
        "QPD|IHE PDQ Query|Q0002|@PID.5.1.1^DOE~@PID.7.1^19800214",
        "RCP|I|10^RD",
    ].joined(separator: "\r") + "\r"

    /// An ADT^A08 for 4711 with diagnoses (DG1) and allergies (AL1).
    package static let adtA08Clinical = [
        "MSH|^~\\&|EPIC|GOODHEALTH|CADUCEUS|HOSP1|20260105090000||ADT^A08^ADT_A01|MSG00010|P|2.5.1",
        "EVN|A08|20260105090000",
        "PID|1||4711^^^GOODH&1.2.840.114350.1&ISO^MR||DOE^JANE^Q||19800214|F",
        "AL1|1|DA|7980^Penicillin G^RXNORM|MO|Hives~Wheezing",
        "AL1|2|FA|^Peanut^^|SV|Anaphylaxis",
        "DG1|1||E11.9^Type 2 diabetes mellitus without complications^I10||20150301|F",
        "DG1|2||38341003^Hypertensive disorder^SCT||20180611|W",
    ].joined(separator: "\r") + "\r"

    /// An RDE^O11 pharmacy order for 4711 (RXE).
    package static let rdeO11 = [
        "MSH|^~\\&|PHARM|GOODHEALTH|CADUCEUS|HOSP1|20260105100000||RDE^O11^RDE_O11|MSG00011|P|2.5.1",
        "PID|1||4711^^^GOODH&1.2.840.114350.1&ISO^MR||DOE^JANE^Q||19800214|F",
        "ORC|NW|ORD777",
        "RXE|^BID^^20260105|860975^Metformin 500 MG Oral Tablet^RXNORM|500||mg|TAB|^Take with meals",
    ].joined(separator: "\r") + "\r"

    /// Every sample, by a short name.
    package static let all: [(name: String, text: String)] = [
        ("adt-a01", adtA01), ("adt-a08-utf8", adtA08UTF8), ("adt-a40", adtA40), ("oru-r01", oruR01),
        ("qbp-q23", qbpQ23), ("qbp-q22", qbpQ22),
    ]
}
