import Foundation
import Testing
import TestSupport

/// `wharf bench nginx` on a tiny fleet with the real nginx: it must run end to end and print every figure. The
/// figures themselves are not judged here (speed goals are for release builds; see README, Benchmarks).
@Suite struct BenchNginxSmokeTests {
    @Test func benchRunsAndPrintsEveryFigure() throws {
        let run = try ExternalTool.run([try TestEnvironment.wharfBinary(), "bench", "nginx", "--clusters", "3", "--servers", "40",
                                        "--upstreams", "4", "--rounds", "1", "--applies", "3"])
        #expect(run.status == 0, "\(run.output)")
        for label in ["server edit -> new version (decide)", "render again, every block cached", "render with no block cached", "unified diff alone", "service member moves",
                      "new workers serving", "old workers gone", "nginx -t alone", "worker's check of a version"] {
            let line = run.output.split(separator: "\n").first { $0.contains(label) }
            #expect(line != nil, "no \"\(label)\" line in:\n\(run.output)")
            // Each figure line carries a positive millisecond figure.
            let figures = line.map { String($0).split(separator: " ").compactMap { Double($0) }.filter { $0 > 0 } } ?? []
            #expect(!figures.isEmpty, "no figure in \"\(line ?? "")\"")
        }
    }

    @Test func badOptionsAreRefusedByName() throws {
        let run = try ExternalTool.run([try TestEnvironment.wharfBinary(), "bench", "nginx", "--upstreams", "3"])
        #expect(run.status != 0)
        #expect(run.output.contains("--upstreams must be an even number"), "\(run.output)")
    }
}
