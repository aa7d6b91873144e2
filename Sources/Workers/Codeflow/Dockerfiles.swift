import Events
import Foundation

/// The Dockerfiles Wharf writes when a codeflow brings none. Every value that reaches them was validated to be one
/// line; the start command goes in as a JSON string (exec form), so no shell or Dockerfile syntax in it is read.
enum Dockerfiles {
    static let appUser = "65534:65534"

    /// The preprocess layer: the dependency files, then the script, run as an unprivileged user in /app.
    static func preprocess(from base: String, dependencyFiles: [String]) -> String {
        var lines = ["FROM \(base)", "USER 0:0", "RUN mkdir -p /app && chown \(appUser) /app"]
        for file in dependencyFiles { lines.append("COPY --chown=\(appUser) deps/\(file) /app/\(file)") }
        lines += ["COPY preprocess.sh /wharf/preprocess.sh", "USER \(appUser)", "WORKDIR /app", "RUN /bin/sh -e /wharf/preprocess.sh"]
        return lines.joined(separator: "\n") + "\n"
    }

    /// The application image: the artifact in /app on top of the base (or preprocess) image.
    static func application(from base: String, artifact: String, isDirectory: Bool, startCommand: String, labels: [(String, String)]) -> String {
        let name = (artifact as NSString).lastPathComponent
        var lines = ["FROM \(base)", "USER 0:0"]
        lines.append(isDirectory ? "COPY --chown=\(appUser) artifact/ /app/" : "COPY --chown=\(appUser) artifact/\(name) /app/\(name)")
        lines += ["USER \(appUser)", "WORKDIR /app", "CMD [\"/bin/sh\", \"-c\", \(jsonString(startCommand))]"]
        lines.append("LABEL " + labels.map { "\($0.0)=\(jsonString($0.1))" }.joined(separator: " "))
        return lines.joined(separator: "\n") + "\n"
    }

    static func jsonString(_ s: String) -> String { CanonicalWriter.write(.string(s)) }
}
