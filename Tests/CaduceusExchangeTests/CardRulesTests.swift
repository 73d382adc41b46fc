import CaduceusCore
@testable import CaduceusExchange
import CaduceusPKI
import CaduceusStorage
import Foundation
import Testing

@Suite("Card lifecycle table, HR import and CSV")
struct CardRulesTests {
    @Test("the lifecycle allows exactly the card station's moves, with the CA action each needs")
    func lifecycleTable() {
        let allowed: [CardStatus: [CardLifecycle.Action: (CardStatus, CardLifecycle.AuthorityAction)]] = [
            .requested: [.approve: (.approved, .none), .reject: (.rejected, .none), .terminate: (.terminated, .none)],
            .approved: [.issue: (.issued, .issue), .terminate: (.terminated, .none)],
            .issued: [.block: (.blocked, .revoke(.certificateHold)), .lost: (.lost, .revoke(.keyCompromise)),
                      .terminate: (.terminated, .revoke(.affiliationChanged)), .renew: (.superseded, .revoke(.superseded))],
            .blocked: [.unblock: (.issued, .releaseHold), .lost: (.lost, .revoke(.keyCompromise)), .terminate: (.terminated, .revoke(.affiliationChanged))],
        ]
        for status in CardStatus.allCases {
            for action in CardLifecycle.Action.allCases {
                let move = CardLifecycle.move(status, action)
                let expected = allowed[status]?[action]
                #expect(move?.0 == expected?.0 && move?.1 == expected?.1, "\(status) + \(action)")
            }
        }
        #expect(CardStatus.allCases.filter(CardLifecycle.isFinal) == [.rejected, .lost, .terminated, .superseded])
    }

    static let roles: Set<String> = ["physician", "nurse", "administrative"]

    func read(_ text: String) throws(ExchangeError) -> [StaffMember] {
        try PersonnelImport.read(Array(text.utf8), organization: "node.hospital-b", allowedRoles: Self.roles, now: Date(timeIntervalSince1970: 0))
    }

    @Test("an HR export with a byte-order mark, quoted fields, other column spellings and several roles reads into the registry")
    func readsExport() throws {
        let text = "\u{FEFF}employee_id,surname,given,dept,roles,work email,employment status,organisation\n"
            + "E1,\"O'Neil, Jr\",Ana,ICU,\"nurse|physician\",ana@b.test,active,node.hospital-b\n"
            + "E2,Berg,Ola,,administrative,,Terminated,\n"
        let staff = try read(text)
        #expect(staff.map(\.id) == ["E1", "E2"])
        #expect(staff[0].family == "O'Neil, Jr" && staff[0].roles == ["nurse", "physician"] && staff[0].active && staff[0].organization == "node.hospital-b")
        #expect(staff[1].active == false && staff[1].email.isEmpty && staff[1].source == "hr-import")
        #expect(staff[0].displayName == "Ana O'Neil, Jr")
    }

    @Test("every bad file is refused whole, naming the row and the rule, never the content", arguments: [
        ("Name,Role\nE1,nurse\n", "no id column"),
        ("id,family,given,role\nE1,A,B,nurse\nE1,C,D,nurse\n", "row 3: the employee id appears twice"),
        ("id,family,given,role\nE1,A,B,surgeon-in-chief\n", "row 2: a role"),
        ("id,family,given,role,organization\nE1,A,B,nurse,node.hospital-a\n", "row 2: another organisation"),
        ("id,family,given,role,status\nE1,A,B,nurse,sabbatical\n", "row 2: an employment status"),
        ("id,family,given,role,email\nE1,A,B,nurse,not an address\n", "row 2: the e-mail"),
        ("id,family,given,role\nE1,\"A,B,nurse\n", "not CSV"),
        ("id,family,given,role\nE 1,A,B,nurse\n", "row 2: the employee id"),
        ("id,family,given,role\nE1,,,nurse\n", "row 2: no name"),
        ("id,family,given,role\nE1,A,B,\n", "row 2: no functional role"),
        ("", "empty"),
    ])
    func refusals(_ text: String, _ rule: String) {
        do {
            _ = try read(text)
            Issue.record("accepted: \(rule)")
        } catch {
            #expect(error.code == "exchange.bad-request")
            #expect(error.message.contains(rule), "\(error.message)")
            #expect(!error.message.contains("surgeon") && !error.message.contains("sabbatical") && !error.message.contains("not an address"))
        }
    }

    @Test("CSV: RFC 4180 quoting, CRLF and LF, blank lines, line breaks inside quotes; bounds and bad quoting refused; encoding guards formulas")
    func csv() throws {
        #expect(try CSV.parse(Array("a,\"b,\"\"c\"\"\"\r\n\r\n\"x\ny\",\n".utf8)) == [["a", "b,\"c\""], ["x\ny", ""]])
        #expect(try CSV.parse(Array("a,b".utf8)) == [["a", "b"]], "no final line end")
        for bad in ["a\"b,c\n", "\"a\"b,c\n", "\"open\n", "a\rb\n"] {
            #expect(throws: CSV.Error.self, "\(bad)") { try CSV.parse(Array(bad.utf8)) }
        }
        #expect(throws: CSV.Error.self) { try CSV.parse(Array("a,b,c\n".utf8), maxFields: 2) }
        #expect(throws: CSV.Error.self) { try CSV.parse(Array("a\nb\nc\n".utf8), maxRows: 2) }
        #expect(throws: CSV.Error.self) { try CSV.parse(Array("abcdef\n".utf8), maxFieldBytes: 5) }
        #expect(throws: CSV.Error.self) { try CSV.parse([0x61, 0xFF, 0x0A]) }
        #expect(CSV.encode([["=HYPERLINK(\"x\")", "a\nb", "plain"]]) == "\"'=HYPERLINK(\"\"x\"\")\",\"a\nb\",plain\r\n")
    }
}
