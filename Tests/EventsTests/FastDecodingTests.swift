@testable import Events
import Foundation
import Testing

/// The replay decoder must agree with Codable on every event type, and the scanner must be strict JSON.
@Suite struct FastDecodingTests {
    @Test func agreesWithCodableOnEveryEventType() throws {
        for envelope in Samples.eventEnvelopes() {
            let text = try CanonicalJSON.encode(envelope)
            #expect(try EventEnvelope.decodeStored(text) == envelope)
        }
    }

    /// CommandRejected moved to version 2 (any command type); version 1 records already in a log decode on both
    /// paths to the same event, and an unknown version is refused.
    @Test func commandRejectedVersion1StillDecodes() throws {
        let v1 = #"{"actor":"user:a","aggregate":"service/x","causationId":"c1","commandPosition":{"offset":4,"partition":0},"#
            + #""commandType":"ScaleService","correlationId":"c1","id":"c1/0","payload":{"code":"not_found","commandType":"ScaleService","#
            + #""reason":"service \"x\" does not exist"},"schemaVersion":1,"time":"2026-11-27T09:30:00.123Z","type":"CommandRejected"}"#
        let viaCodable = try CanonicalJSON.decode(EventEnvelope.self, from: v1)
        #expect(try EventEnvelope.fastDecode(v1) == viaCodable)
        #expect(viaCodable.event == Event(CommandRejected(commandType: "ScaleService", code: .notFound, reason: "service \"x\" does not exist")))
        // Written today, the same event is version 2.
        #expect(try CanonicalJSON.encode(viaCodable).contains(#""schemaVersion":2"#))
        let v3 = v1.replacingOccurrences(of: #""schemaVersion":1"#, with: #""schemaVersion":3"#)
        #expect(throws: DecodingError.self) { try CanonicalJSON.decode(EventEnvelope.self, from: v3) }
        #expect(throws: (any Error).self) { try EventEnvelope.fastDecode(v3) }
    }

    @Test func agreesWithCodableOnEveryCommandType() throws {
        for envelope in Samples.commandEnvelopes() {
            let text = try CanonicalJSON.encode(envelope)
            // The scanner covers the hot service commands; the rest (Nginx, reveals, placements, instances, rotation, instance operations) fall back to
            // Codable by design.
            let viaCodable = ["SetServiceAddresses", "RevealServiceSecret", "SetServicePlacement", "RecordPlacementDecision", "RecordServiceInstances",
                              "SetInstanceRotation", "RecreateInstance", "AddDebugContainer", "ReadInstanceLogs", "RecordInstanceOperation",
                              "RecordServiceRollout"]
            if envelope.aggregate.hasPrefix("service/") && !viaCodable.contains(envelope.type) {
                #expect(try CommandEnvelope.fastDecode(text) == envelope, "\(envelope.type)")
            } else {
                #expect(throws: Fields.Mismatch.self) { try CommandEnvelope.fastDecode(text) }
            }
            #expect(try CommandEnvelope.decodeStored(text) == envelope, "\(envelope.type)")
            #expect(try CommandEnvelope.decodeStored(text) == CanonicalJSON.decode(CommandEnvelope.self, from: text))
        }
    }

    /// Where Codable refuses a command, the fast path must not accept it (it falls back and Codable reports).
    @Test(arguments: [
        #"{"id":"c","type":"ScaleService","schemaVersion":1,"aggregate":"service/a","actor":"u","time":"t","correlationId":"c","payload":{"name":"a"}}"#,
        #"{"id":"c","type":"CreateService","schemaVersion":1,"aggregate":"service/a","actor":"u","time":"t","correlationId":"c","payload":{"name":"a","businessLine":"b","image":"i","replicas":1,"ports":[]}}"#,
        #"{"id":"c","type":"ScaleService","schemaVersion":2,"aggregate":"service/a","actor":"u","time":"t","correlationId":"c","payload":{"name":"a","replicas":2}}"#,
        #"{"id":"c","type":"Nope","schemaVersion":1,"aggregate":"service/a","actor":"u","time":"t","correlationId":"c","payload":{}}"#,
    ])
    func refusesWhatCodableRefuses(_ text: String) {
        #expect(throws: (any Error).self) { try CommandEnvelope.fastDecode(text) }
        #expect(throws: (any Error).self) { try CommandEnvelope.decodeStored(text) }
    }

    @Test func handlesEscapesAndDefaults() throws {
        var envelope = Samples.eventEnvelopes()[0]
        envelope.actor = "user:\"quoted\" \\ back\nslash \u{1F600} ü /"
        #expect(try EventEnvelope.decodeStored(try CanonicalJSON.encode(envelope)) == envelope)
        // Defaults of older writers: no protocol (TCP), no probe delays (0 s / 10 s).
        let text = try CanonicalJSON.encode(envelope)
            .replacingOccurrences(of: #","protocol":"TCP""#, with: "")
            .replacingOccurrences(of: #""initialDelaySeconds":0,"#, with: "")
            .replacingOccurrences(of: #","periodSeconds":10"#, with: "")
        #expect(try EventEnvelope.decodeStored(text) == envelope)
    }

    @Test func scannerReadsValidJSON() throws {
        let parsed = try JSONScanner.parse(#" {"a" : [1, -2, 3.5e2, true, false, null, "x\u00e9\ud83d\ude00"], "b":{}, "c":"\/\n\t\"" } "#)
        let expected = JSONValue.object([
            ("a", .array([.integer(1), .integer(-2), .double(350), .bool(true), .bool(false), .null, .string("xé😀")])),
            ("b", .object([])),
            ("c", .string("/\n\t\"")),
        ])
        #expect(parsed == expected)
        #expect(try JSONScanner.parse("-0") == .integer(0))
        #expect(try JSONScanner.parse("[]") == .array([]))
    }

    @Test(arguments: ["", "{", #"{"a"}"#, #"{"a":1,}"#, "[1,]", #""abc"#, "tru", "01x", #"{"a":1} x"#, "\"\u{01}\"", #""\x""#, #""\ud800""#])
    func scannerRejectsInvalidJSON(_ text: String) {
        #expect(throws: JSONScanError.self) { try JSONScanner.parse(text) }
    }
}
