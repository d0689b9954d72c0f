import XCTest
@testable import IPCBench

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
        XCTAssertEqual(try CPUPlacement(parsing: "2,3"), .pinned(2, 3))
        XCTAssertThrowsError(try CPUPlacement(parsing: "both"))
        XCTAssertThrowsError(try CPUPlacement.split.cpus(workers: 2, allowed: [0])) { error in
            XCTAssertTrue("\(error)".contains("needs two CPUs"))
        }
        XCTAssertEqual(try CPUPlacement.split.cpus(workers: 2, allowed: [0, 1, 2, 3]), [2, 3])
        XCTAssertEqual(try CPUPlacement.split.cpus(workers: 5, allowed: [0, 1, 2, 3]), [0, 1, 2, 3, 0], "round-robin, wrapping")
        XCTAssertEqual(try CPUPlacement.split.cpus(workers: 3, allowed: [0, 1, 2, 3]), [1, 2, 3])
        XCTAssertEqual(try CPUPlacement.pinned(2, 3).cpus(workers: 4, allowed: [0, 1, 2, 3]), [2, 3, 2, 3])
        XCTAssertEqual(try CPUPlacement.same.cpus(workers: 3, allowed: [4, 5]), [4, 4, 4])
        XCTAssertThrowsError(try CPUPlacement.pinned(0, 9).cpus(workers: 2, allowed: [0, 1]))
    }
}
