/// HD — hierarchic designator (v2.5.1 §2.A.36): namespace id, universal id, universal id type.
public struct HD: Sendable, Hashable {
    /// HD-1.
    public var namespaceID: String
    /// HD-2, e.g. an OID.
    public var universalID: String
    /// HD-3, e.g. `ISO`.
    public var universalIDType: String

    /// Creates an HD.
    public init(namespaceID: String = "", universalID: String = "", universalIDType: String = "") {
        self.namespaceID = namespaceID
        self.universalID = universalID
        self.universalIDType = universalIDType
    }

    /// Whether all parts are empty.
    public var isEmpty: Bool { namespaceID.isEmpty && universalID.isEmpty && universalIDType.isEmpty }

    /// The HD written as the pieces of one component (`ns&oid&ISO`) or of one field (`ns^oid^ISO`).
    func texts(_ d: HL7Delimiters) -> [HL7Text] {
        var parts = [namespaceID, universalID, universalIDType]
        while parts.count > 1, parts.last!.isEmpty { parts.removeLast() }
        return parts.map { HL7Text(value: $0, delimiters: d) }
    }
}

/// CX — extended composite id with check digit (§2.A.12): id, assigning authority (HD as subcomponents), type code.
public struct CX: Sendable, Hashable {
    /// CX-1.
    public var id: String
    /// CX-4.
    public var assigningAuthority: HD
    /// CX-5, e.g. `MR`, `PI`.
    public var identifierTypeCode: String

    /// Creates a CX.
    public init(id: String, assigningAuthority: HD, identifierTypeCode: String = "") {
        self.id = id
        self.assigningAuthority = assigningAuthority
        self.identifierTypeCode = identifierTypeCode
    }

    /// The CX as a repetition.
    public func repetition(_ d: HL7Delimiters = .standard) -> HL7Repetition {
        var components = [
            HL7Component(HL7Text(value: id, delimiters: d)), HL7Component(), HL7Component(),
            HL7Component(subcomponents: assigningAuthority.texts(d)),
        ]
        if !identifierTypeCode.isEmpty { components.append(HL7Component(HL7Text(value: identifierTypeCode, delimiters: d))) }
        return HL7Repetition(components: components)
    }
}

/// XPN — extended person name (§2.A.88): family, given, second given, suffix, prefix, name type.
public struct XPN: Sendable, Hashable {
    /// XPN-1.1 surname.
    public var family: String
    /// XPN-2.
    public var given: String
    /// XPN-3.
    public var middle: String
    /// XPN-4.
    public var suffix: String
    /// XPN-5.
    public var prefix: String
    /// XPN-7 (`L` legal, `M` maiden, `A` alias…).
    public var nameTypeCode: String

    /// Creates an XPN.
    public init(family: String, given: String, middle: String = "", suffix: String = "", prefix: String = "", nameTypeCode: String = "") {
        self.family = family
        self.given = given
        self.middle = middle
        self.suffix = suffix
        self.prefix = prefix
        self.nameTypeCode = nameTypeCode
    }
}

/// XAD — extended address (§2.A.85).
public struct XAD: Sendable, Hashable {
    /// XAD-1.1 street.
    public var street: String
    /// XAD-2.
    public var otherDesignation: String
    /// XAD-3.
    public var city: String
    /// XAD-4.
    public var state: String
    /// XAD-5.
    public var postalCode: String
    /// XAD-6.
    public var country: String
    /// XAD-7 (`H` home, `M` mailing…).
    public var addressType: String

    /// Creates an XAD.
    public init(street: String = "", otherDesignation: String = "", city: String = "", state: String = "", postalCode: String = "", country: String = "", addressType: String = "") {
        self.street = street
        self.otherDesignation = otherDesignation
        self.city = city
        self.state = state
        self.postalCode = postalCode
        self.country = country
        self.addressType = addressType
    }
}

/// XTN — telecommunication number (§2.A.89). `number` is XTN-1, or XTN-5/6/7 joined when XTN-1 is empty.
public struct XTN: Sendable, Hashable {
    /// The number as text.
    public var number: String
    /// XTN-2 (`PRN`, `WPN`, `NET`…).
    public var useCode: String
    /// XTN-3 (`PH`, `CP`, `Internet`…).
    public var equipmentType: String
    /// XTN-4 e-mail address.
    public var email: String

    /// Creates an XTN.
    public init(number: String, useCode: String = "", equipmentType: String = "", email: String = "") {
        self.number = number
        self.useCode = useCode
        self.equipmentType = equipmentType
        self.email = email
    }
}

/// CWE/CE — coded element (§2.A.13): identifier, text, coding system.
public struct CWE: Sendable, Hashable {
    /// CWE-1.
    public var identifier: String
    /// CWE-2.
    public var text: String
    /// CWE-3.
    public var codingSystem: String

    /// Creates a coded value.
    public init(identifier: String, text: String = "", codingSystem: String = "") {
        self.identifier = identifier
        self.text = text
        self.codingSystem = codingSystem
    }
}

/// Reading data types out of a repetition.
extension HL7Repetition {
    func string(_ c: Int, _ s: Int = 1, _ dialect: HL7Dialect) throws(HL7Error) -> String {
        try self[c][subcomponent: s].value(dialect)
    }

    /// As CX.
    public func cx(_ dialect: HL7Dialect) throws(HL7Error) -> CX {
        CX(
            id: try string(1, 1, dialect),
            assigningAuthority: HD(
                namespaceID: try string(4, 1, dialect), universalID: try string(4, 2, dialect),
                universalIDType: try string(4, 3, dialect)),
            identifierTypeCode: try string(5, 1, dialect))
    }

    /// As HD (components, as in MSH-3 or QPD-4).
    public func hd(_ dialect: HL7Dialect) throws(HL7Error) -> HD {
        HD(namespaceID: try string(1, 1, dialect), universalID: try string(2, 1, dialect), universalIDType: try string(3, 1, dialect))
    }

    /// As XPN.
    public func xpn(_ dialect: HL7Dialect) throws(HL7Error) -> XPN {
        XPN(
            family: try string(1, 1, dialect), given: try string(2, 1, dialect), middle: try string(3, 1, dialect),
            suffix: try string(4, 1, dialect), prefix: try string(5, 1, dialect), nameTypeCode: try string(7, 1, dialect))
    }

    /// As XAD.
    public func xad(_ dialect: HL7Dialect) throws(HL7Error) -> XAD {
        XAD(
            street: try string(1, 1, dialect), otherDesignation: try string(2, 1, dialect), city: try string(3, 1, dialect),
            state: try string(4, 1, dialect), postalCode: try string(5, 1, dialect), country: try string(6, 1, dialect),
            addressType: try string(7, 1, dialect))
    }

    /// As XTN.
    public func xtn(_ dialect: HL7Dialect) throws(HL7Error) -> XTN {
        var number = try string(1, 1, dialect)
        if number.isEmpty {
            number = [try string(5, 1, dialect), try string(6, 1, dialect), try string(7, 1, dialect)]
                .filter { !$0.isEmpty }.joined(separator: " ")
        }
        return XTN(number: number, useCode: try string(2, 1, dialect), equipmentType: try string(3, 1, dialect), email: try string(4, 1, dialect))
    }

    /// As CWE/CE.
    public func cwe(_ dialect: HL7Dialect) throws(HL7Error) -> CWE {
        CWE(identifier: try string(1, 1, dialect), text: try string(2, 1, dialect), codingSystem: try string(3, 1, dialect))
    }
}
