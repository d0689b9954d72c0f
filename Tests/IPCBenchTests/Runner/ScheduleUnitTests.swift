import Foundation
import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

final class ScheduleUnitTests: XCTestCase {
    /// SplitMix64's published first outputs for seed 0: the order of a recorded seed never changes.
    func testSplitMixIsTheReferenceSequence() {
        var g = SeededGenerator(seed: 0)
        XCTAssertEqual([g.next(), g.next(), g.next()], [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F])
    }

    func testShuffleIsAPermutationFixedBySeed() {
        var a = SeededGenerator(seed: 99), b = SeededGenerator(seed: 99)
        var x = Array(0..<50), y = Array(0..<50)
        a.shuffle(&x)
        b.shuffle(&y)
        XCTAssertEqual(x, y)
        XCTAssertEqual(x.sorted(), Array(0..<50))
        XCTAssertNotEqual(x, Array(0..<50))
        var counts = [Int](repeating: 0, count: 3)
        var g = SeededGenerator(seed: 1)
        for _ in 0..<3000 { counts[g.below(3)] += 1 }
        XCTAssertTrue(counts.allSatisfy { $0 > 900 && $0 < 1100 }, "\(counts)")
    }

    func testKernelCommandLineValues() {
        let line = "BOOT_IMAGE=/vmlinuz mitigations=auto,nosmt preempt=full quiet -- preempt=none\n"
        XCTAssertEqual(kernelCommandLineValue("mitigations", commandLine: line), "auto,nosmt")
        XCTAssertEqual(kernelCommandLineValue("preempt", commandLine: line), "full", "words after -- belong to init")
        XCTAssertEqual(kernelCommandLineValue("isolcpus", commandLine: line), "")
    }

    func testMitigationsSummaryLeavesOutWhatIsNotAffected() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vuln-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertEqual(mitigationsSummary(directory: dir.path), "none affected")
        try "Not affected\n".write(to: dir.appendingPathComponent("meltdown"), atomically: true, encoding: .utf8)
        try "Mitigation: Retpolines; STIBP: disabled\n".write(to: dir.appendingPathComponent("spectre_v2"), atomically: true, encoding: .utf8)
        try "Vulnerable\n".write(to: dir.appendingPathComponent("spec_store_bypass"), atomically: true, encoding: .utf8)
        XCTAssertEqual(mitigationsSummary(directory: dir.path), "spec_store_bypass: Vulnerable | spectre_v2: Mitigation: Retpolines; STIBP: disabled")
        XCTAssertEqual(mitigationsSummary(directory: dir.path + "/missing"), "")
    }
}
