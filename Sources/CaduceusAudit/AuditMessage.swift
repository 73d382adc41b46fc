package import struct Foundation.Date

/// A coded value in an audit message (`EventID`, `EventTypeCode`, `RoleIDCode`…): code, code system, display name.
package struct AuditCode: Sendable, Hashable, Codable {
    package var code: String
    package var system: String
    package var display: String
    package init(_ code: String, system: String, display: String) {
        self.code = code
        self.system = system
        self.display = display
    }

    // DICOM PS3.16 CID 400 event ids (system "DCM") used by the exchange.
    /// 110110 Patient Record.
    package static let patientRecord = AuditCode("110110", system: "DCM", display: "Patient Record")
    /// 110112 Query.
    package static let query = AuditCode("110112", system: "DCM", display: "Query")
    /// 110106 Export.
    package static let export = AuditCode("110106", system: "DCM", display: "Export")
    /// 110107 Import.
    package static let `import` = AuditCode("110107", system: "DCM", display: "Import")
    /// 110114 User Authentication.
    package static let userAuthentication = AuditCode("110114", system: "DCM", display: "User Authentication")
    /// 110113 Security Alert.
    package static let securityAlert = AuditCode("110113", system: "DCM", display: "Security Alert")
    /// 110100 Application Activity.
    package static let applicationActivity = AuditCode("110100", system: "DCM", display: "Application Activity")
    /// Event type of a Security Alert: a break-glass access began.
    package static let emergencyOverrideStarted = AuditCode("110127", system: "DCM", display: "Emergency Override Started")
    /// Event type of a Security Alert: a break-glass access ended.
    package static let emergencyOverrideStopped = AuditCode("110138", system: "DCM", display: "Emergency Override Stopped")
    /// Event type of a Security Alert: security configuration (the access policy) changed.
    package static let securityConfiguration = AuditCode("110129", system: "DCM", display: "Security Configuration")
    /// Event type of a Security Alert: an object's security attributes (a patient's consent) changed.
    package static let objectSecurityAttributesChanged = AuditCode("110135", system: "DCM", display: "Object Security Attributes Changed")
}

/// What was done (DICOM PS3.15 A.5.1 `EventActionCode`).
package enum AuditAction: String, Sendable, Hashable, Codable {
    case create = "C", read = "R", update = "U", delete = "D", execute = "E"
}

/// How it ended (`EventOutcomeIndicator`).
package enum AuditOutcome: Int, Sendable, Hashable, Codable {
    case success = 0, minorFailure = 4, seriousFailure = 8, majorFailure = 12
}

/// Who took part (`ActiveParticipant`): a person or a node, never described by PHI.
package struct AuditParticipant: Sendable, Hashable, Codable {
    /// `UserID`: a certificate CN, a node id, an application name.
    package var userID: String
    /// `RoleIDCode`s (functional role).
    package var roles: [AuditCode]
    /// `UserIsRequestor`.
    package var isRequestor: Bool
    /// `NetworkAccessPointID` (a node endpoint or an address), `""` when unknown.
    package var networkAccessPoint: String
    package init(userID: String, roles: [AuditCode] = [], isRequestor: Bool, networkAccessPoint: String = "") {
        self.userID = userID
        self.roles = roles
        self.isRequestor = isRequestor
        self.networkAccessPoint = networkAccessPoint
    }
}

/// What was touched (`ParticipantObjectIdentification`): a patient by identifier only (never name or birth date), a
/// document by unique id, a query by its kind.
package struct AuditObject: Sendable, Hashable, Codable {
    /// `ParticipantObjectTypeCode`: 1 person, 2 system object, 4 other.
    package var typeCode: Int
    /// `ParticipantObjectTypeCodeRole`: 1 patient, 3 report, 24 query.
    package var role: Int
    /// `ParticipantObjectIDTypeCode`.
    package var idType: AuditCode
    /// `ParticipantObjectID` (a patient id in CX form, a document unique id).
    package var id: String
    package init(typeCode: Int, role: Int, idType: AuditCode, id: String) {
        self.typeCode = typeCode
        self.role = role
        self.idType = idType
        self.id = id
    }

    /// A patient, by identifier (RFC 3881 ID type 2, patient number).
    package static func patient(_ cx: String) -> AuditObject {
        AuditObject(typeCode: 1, role: 1, idType: AuditCode("2", system: "RFC-3881", display: "Patient Number"), id: cx)
    }

    /// A document, by unique id (ITI-41/43: 'urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd' submission / document).
    package static func document(_ uniqueId: String) -> AuditObject {
        AuditObject(typeCode: 2, role: 3, idType: AuditCode("9", system: "RFC-3881", display: "Report Number"), id: uniqueId)
    }
}

/// One audit event in the DICOM PS3.15 / IHE ATNA shape (an "audit message").
package struct AuditMessage: Sendable, Hashable, Codable {
    package var eventID: AuditCode
    package var eventTypes: [AuditCode]
    package var action: AuditAction
    package var outcome: AuditOutcome
    package var time: Date
    /// The audit source: the node id.
    package var sourceID: String
    /// The purpose of use (TREAT, ETREAT, …), `""` when none was asserted.
    package var purposeOfUse: String
    /// Whether this access was an emergency override (break-glass).
    package var emergency: Bool
    /// A stable code for failures (the error code), `""` on success.
    package var errorCode: String
    package var participants: [AuditParticipant]
    package var objects: [AuditObject]

    package init(eventID: AuditCode, eventTypes: [AuditCode] = [], action: AuditAction, outcome: AuditOutcome, time: Date, sourceID: String, purposeOfUse: String = "", emergency: Bool = false, errorCode: String = "", participants: [AuditParticipant], objects: [AuditObject] = []) {
        self.eventID = eventID
        self.eventTypes = eventTypes
        self.action = action
        self.outcome = outcome
        self.time = time
        self.sourceID = sourceID
        self.purposeOfUse = purposeOfUse
        self.emergency = emergency
        self.errorCode = errorCode
        self.participants = participants
        self.objects = objects
    }
}
