import CaduceusCore
import CaduceusDocuments
import CaduceusExchange
import CaduceusHTTP
import CaduceusPKI
import CaduceusStorage
import Testing

@Suite("Error categories and their HTTP statuses")
struct ErrorCategoryTests {
    @Test("every category has its own status; client mistakes are 4xx, never 502; a peer's error keeps its category")
    func mapping() {
        let statuses = ErrorCategory.allCases.map { NodeServer.status(for: $0).code }
        #expect(Set(statuses).count == ErrorCategory.allCases.count)
        for category in ErrorCategory.allCases where category != .upstream && category != .internal {
            #expect((400..<500).contains(NodeServer.status(for: category).code), "\(category)")
        }
        let cases: [(any CaduceusError, Int)] = [
            (ExchangeError(.badRequest, ""), 400), (ExchangeError(.weakAlgorithm, ""), 400), (ExchangeError(.misdirected, ""), 400),
            (ExchangeError(.signerRejected, ""), 401), (ExchangeError(.peerMismatch, ""), 401),
            (CompactJWS.Refusal(code: "assertion.expired", message: ""), 401), (CompactJWS.Refusal(code: "consent.bad-signature", message: ""), 400),
            (ExchangeError(.forbidden, ""), 403), (ExchangeError(.unknownPatient, ""), 404), (DocumentsError(.notFound, ""), 404),
            (ExchangeError(.replayed, ""), 409), (DocumentsError(.duplicateUniqueId, ""), 409), (StorageError(.conflict, ""), 409),
            (DocumentsError(.tooLarge, ""), 413), (DocumentsError(.patientMismatch, ""), 400),
            (ExchangeError(.peerUnavailable, ""), 502), (StorageError(.database, ""), 500),
            (RemoteError(code: "exchange.forbidden", message: "", category: .forbidden), 403), (RemoteError(code: "x.unknown", message: ""), 502),
        ]
        for (error, status) in cases {
            #expect(NodeServer.status(for: error.category).code == status, "\(error.code)")
        }
    }
}
