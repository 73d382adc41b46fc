/// A patient's identifier in one identity domain: PID-3's id and assigning authority (by universal id — an OID —
/// when the sender gives one, else by namespace id).
public struct LocalIdentity: Sendable, Hashable, Codable, Comparable {
    /// CX-1.
    public var id: String
    /// CX-4: the assigning authority's universal id (OID) or, failing that, its namespace id.
    public var authority: String

    /// Creates an identity.
    public init(id: String, authority: String) {
        self.id = id
        self.authority = authority
    }

    /// Orders by authority, then id.
    public static func < (a: LocalIdentity, b: LocalIdentity) -> Bool { (a.authority, a.id) < (b.authority, b.id) }
}

/// One pair the MPI was not sure about, waiting for a person to decide.
public struct ReviewItem: Sendable, Hashable, Codable {
    /// Stable id.
    public var id: Int64
    /// The record that was registered.
    public var recordID: Int64
    /// The record it may be the same person as.
    public var candidateRecordID: Int64
    /// Fellegi–Sunter weight of the pair.
    public var weight: Double
    /// Why it was queued (`mpi.review.*`).
    public var reason: String

    /// Creates a review item.
    public init(id: Int64, recordID: Int64, candidateRecordID: Int64, weight: Double, reason: String) {
        self.id = id
        self.recordID = recordID
        self.candidateRecordID = candidateRecordID
        self.weight = weight
        self.reason = reason
    }
}
