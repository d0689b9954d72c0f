import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

final class UnitsTests: XCTestCase {
    func testSizesWithUnits() throws {
        XCTAssertEqual(try parseSize("64"), 64)
        XCTAssertEqual(try parseSize("1K"), 1024)
        XCTAssertEqual(try parseSize("64KiB"), 65536)
        XCTAssertEqual(try parseSize("1kB"), 1000)
        XCTAssertEqual(try parseSize("1MiB"), 1 << 20)
        XCTAssertEqual(try parseSize("10MB"), 10_000_000)
        XCTAssertEqual(try parseSize("2GiB"), 2 << 30)
    }

    func testBadSizesNameTheValue() {
        for bad in ["0", "abc", "", "-5", "1.5K", "12XB", "99999999999999999999"] {
            XCTAssertThrowsError(try parseSize(bad, what: "--size"), bad) { error in
                let message = (error as? InputError)?.message ?? ""
                XCTAssertTrue(message.contains("'\(bad)'"), message)
                XCTAssertFalse(message.contains("\n"))
            }
        }
    }

    func testDurations() throws {
        XCTAssertEqual(try parseDuration("30s"), 30_000_000_000)
        XCTAssertEqual(try parseDuration("500ms"), 500_000_000)
        XCTAssertEqual(try parseDuration("2m"), 120_000_000_000)
        XCTAssertEqual(try parseDuration("1.5s"), 1_500_000_000)
        XCTAssertEqual(try parseDuration("0s", allowZero: true), 0)
        XCTAssertThrowsError(try parseDuration("0s"))
        XCTAssertThrowsError(try parseDuration("soon"))
    }

    func testFormatSize() {
        XCTAssertEqual(formatSize(65536), "64KiB")
        XCTAssertEqual(formatSize(1 << 20), "1MiB")
        XCTAssertEqual(formatSize(1000), "1000")
    }

    func testPlacements() throws {
        XCTAssertEqual(try CPUPlacement(parsing: "split"), .split)
        XCTAssertEqual(try CPUPlacement(parsing: "2,3"), .pinned([2, 3]))
        XCTAssertThrowsError(try CPUPlacement(parsing: "both"))
        XCTAssertThrowsError(try CPUPlacement.split.cpus(workers: 2, allowed: [0])) { error in
            XCTAssertTrue("\(error)".contains("needs two CPUs"))
        }
        XCTAssertEqual(try CPUPlacement.split.cpus(workers: 2, allowed: [0, 1, 2, 3]), [2, 3])
        XCTAssertEqual(try CPUPlacement.split.cpus(workers: 5, allowed: [0, 1, 2, 3]), [0, 1, 2, 3, 0], "round-robin, wrapping")
        XCTAssertEqual(try CPUPlacement.split.cpus(workers: 3, allowed: [0, 1, 2, 3]), [1, 2, 3])
        XCTAssertEqual(try CPUPlacement.pinned([2, 3]).cpus(workers: 4, allowed: [0, 1, 2, 3]), [2, 3, 2, 3])
        XCTAssertEqual(try CPUPlacement(parsing: "1,0,0"), .pinned([1, 0, 0]))
        XCTAssertEqual(try CPUPlacement.pinned([1, 0, 0]).cpus(workers: 3, allowed: [0, 1]), [1, 0, 0])
        XCTAssertEqual(try CPUPlacement.same.cpus(workers: 3, allowed: [4, 5]), [4, 4, 4])
        XCTAssertThrowsError(try CPUPlacement.pinned([0, 9]).cpus(workers: 2, allowed: [0, 1]))
    }

    func testBoundsRefuseWithTheLimit() throws {
        XCTAssertEqual(try parseSize("1GiB", what: "--size", bound: InputLimits.payload), 1 << 30)
        for bad in ["1073741825", "1048576GiB", "9223372036854775807", "99999999999999999999", "9999999999999999G"] {
            XCTAssertThrowsError(try parseSize(bad, what: "--size", bound: InputLimits.payload)) { error in
                XCTAssertEqual((error as? InputError)?.message, "--size '\(bad)' is more than 1GiB, the largest payload ipcbench takes; use 1GiB or less")
            }
        }
        XCTAssertThrowsError(try InputLimits.count.check(1_000_000_001, "--count")) { error in
            XCTAssertEqual((error as? InputError)?.message, "--count 1000000001 is more than 1000000000, the most round trips per latency trial before calibration; use 1000000000 or less")
        }
        XCTAssertNoThrow(try InputLimits.count.check(1_000_000_000, "--count"))
    }

    func testTrialMemoryIsHalfOfTheSmallerOfTotalAndAvailable() throws {
        let meminfo = "MemTotal:       24000000 kB\nMemFree:         1000 kB\nMemAvailable:    8388608 kB\n"
        let bound = try XCTUnwrap(InputLimits.trialMemory(meminfo: meminfo))
        XCTAssertEqual(bound.max, 4 << 30)
        XCTAssertEqual(bound.shown, "4.0 GiB")
        XCTAssertEqual(InputLimits.trialMemory(meminfo: "MemTotal: 1048576 kB\n")?.max, 512 << 20)
        XCTAssertNil(InputLimits.trialMemory(meminfo: nil))
        XCTAssertNil(InputLimits.trialMemory(meminfo: "nothing here"))
        XCTAssertNotNil(InputLimits.trialMemory())
    }

    func testDurationBounds() throws {
        XCTAssertEqual(try parseDuration("24h"), 86_400_000_000_000)
        XCTAssertEqual(try parseDuration("1h", bound: InputLimits.minTrialTime), 3_600_000_000_000)
        for bad in ["25h", "1441m", "99999999999999999999999999s", String(repeating: "9", count: 400)] {
            XCTAssertThrowsError(try parseDuration(bad, what: "--timeout")) { error in
                XCTAssertEqual((error as? InputError)?.message, "--timeout \(excerpt("'\(bad)'")) is more than 24h, the longest a trial may run; use 24h or less")
            }
        }
        XCTAssertThrowsError(try parseDuration("0.1ns", what: "--timeout")) { error in
            XCTAssertEqual((error as? InputError)?.message, "--timeout '0.1ns' must be at least 1ns")
        }
    }

    func testInputErrorsAreOneLine() {
        XCTAssertEqual(InputError("unknown transport 'pi\npe\r\u{1B}[2J\u{2028}x\ty'").message,
                       "unknown transport 'pi\\npe\\r\\u{1B}[2J\\u{2028}x\ty'")
        XCTAssertEqual(InputError("plain — ünïcode").message, "plain — ünïcode")
    }
}
