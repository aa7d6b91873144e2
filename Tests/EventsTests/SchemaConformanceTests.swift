import Events
import Foundation
import Testing
import TestSupport

/// Every command and event type's encoding validates against its JSON Schema in schemas/ (checked by the Python
/// `jsonschema` library, an implementation independent of ours).
@Suite struct SchemaConformanceTests {
    func validate(kind: String, _ values: [String]) throws -> (status: Int32, output: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var files: [String] = []
        for (i, value) in values.enumerated() {
            let file = dir.appendingPathComponent("\(i).json")
            try value.write(to: file, atomically: true, encoding: .utf8)
            files.append(file.path)
        }
        let root = TestEnvironment.repositoryRoot
        return try ExternalTool.run(["python3", root.appendingPathComponent("ops/check-schemas.py").path,
                                     root.appendingPathComponent("schemas").path, kind] + files)
    }

    @Test func commandEncodingsValidate() throws {
        let result = try validate(kind: "commands", try Samples.commandEnvelopes().map { try CanonicalJSON.encode($0) })
        #expect(result.status == 0, "\(result.output)")
    }

    @Test func eventEncodingsValidate() throws {
        let result = try validate(kind: "events", try Samples.eventEnvelopes().map { try CanonicalJSON.encode($0) })
        #expect(result.status == 0, "\(result.output)")
    }

    /// The check must be able to fail: a wrong type and an extra field are caught.
    @Test func schemaViolationsAreCaught() throws {
        var text = try CanonicalJSON.encode(Samples.eventEnvelopes()[4])  // ServiceScaled
        text = text.replacingOccurrences(of: #""replicas":5"#, with: #""replicas":"5""#)
        let wrongType = try validate(kind: "events", [text])
        #expect(wrongType.status != 0)
        let extra = try validate(kind: "events", [try CanonicalJSON.encode(Samples.eventEnvelopes()[6]).replacingOccurrences(of: #"{"name""#, with: #"{"extra":1,"name""#)])
        #expect(extra.status != 0)
    }
}
