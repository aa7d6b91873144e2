import Events
import Foundation
import Testing

/// The processor's event encoder must write exactly the bytes JSONEncoder writes (they are hashed into the chain).
@Suite struct CanonicalWriterTests {
    @Test func sameBytesAsJSONEncoderOnEveryEventType() throws {
        for envelope in Samples.eventEnvelopes() {
            #expect(envelope.canonicalJSON() == (try CanonicalJSON.encode(envelope)), "\(envelope.type)")
        }
    }

    @Test func sameBytesForAwkwardStringsAndKeys() throws {
        let awkward = (0..<0x20).map { String(UnicodeScalar(UInt8($0))) }.joined()
            + "\"\\/ é 😀 \u{2028}\u{2029}\u{7F} </script> ${x} ;{}#"
        let env = ["b": awkward, "A_B": "1", "MODE": "x", "a1": "y", "_x": "z", "Z": "", "é": "accent", "aa": "2", "a": "3"]
        let template = PodTemplate(image: "reg.local/x:1", env: env, ports: [ServicePort(name: awkward, containerPort: 1)],
                                   healthCheck: HealthCheck(path: awkward, port: 2))
        var envelope = Samples.eventEnvelopes()[0]
        envelope.actor = awkward
        envelope.event = Event(ServiceCreated(name: "n", businessLine: awkward, replicas: 1, domain: nil, revision: 1, template: template))
        let written = envelope.canonicalJSON()
        #expect(written == (try CanonicalJSON.encode(envelope)))
        #expect(try EventEnvelope.decodeStored(written) == envelope)
        #expect(try CanonicalJSON.decode(EventEnvelope.self, from: written) == envelope)
    }
}
