import Foundation

/// Runs a helper program (python3 scripts under ops/) and returns its exit status and output.
public enum ExternalTool {
    /// `stdoutOnly`: the output is standard output alone (stderr is dropped), for tools that print JSON.
    public static func run(_ argv: [String], cwd: URL? = nil, env extra: [String: String] = [:],
                           stdoutOnly: Bool = false) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = argv
        var env = ProcessInfo.processInfo.environment
        for (k, v) in extra { env[k] = v }
        process.environment = env
        if let cwd { process.currentDirectoryURL = cwd }
        let outFile = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-tool-\(UUID().uuidString).out")
        FileManager.default.createFile(atPath: outFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: outFile)
        defer { try? FileManager.default.removeItem(at: outFile) }
        process.standardOutput = handle
        process.standardError = stdoutOnly ? FileHandle.nullDevice : handle
        try process.run()
        process.waitUntilExit()
        try handle.close()
        return (process.terminationStatus, (try? String(contentsOf: outFile, encoding: .utf8)) ?? "")
    }
}
