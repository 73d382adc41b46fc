/// A patient's identifier in one identity domain: PID-3's id and assigning authority (by universal id — an OID —
/// when the sender gives one, else by namespace id).
package struct LocalIdentity: Sendable, Hashable, Codable, Comparable {
    /// CX-1.
    package var id: String
    /// CX-4: the assigning authority's universal id (OID) or, failing that, its namespace id.
    package var authority: String

    /// Creates an identity.
    package init(id: String, authority: String) {
        self.id = id
        self.authority = authority
    }

    /// Orders by authority, then id.
    package static func < (a: LocalIdentity, b: LocalIdentity) -> Bool { (a.authority, a.id) < (b.authority, b.id) }
}

/// One pair the MPI was not sure about, waiting for a person to decide.
package struct ReviewItem: Sendable, Hashable, Codable {
    /// Stable id.
    package var id: Int64
    /// The record that was registered.
    package var recordID: Int64
    /// The record it may be the same person as.
    package var candidateRecordID: Int64
    /// Fellegi–Sunter weight of the pair.
    package var weight: Double
    /// Why it was queued (`mpi.review.*`).
    package var reason: String

    /// Creates a review item.
    package init(id: Int64, recordID: Int64, candidateRecordID: Int64, weight: Double, reason: String) {
        self.id = id
        self.recordID = recordID
        self.candidateRecordID = candidateRecordID
        self.weight = weight
        self.reason = reason
    }
}
