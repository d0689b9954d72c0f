import XCTest

/// What the guest tests (KernelsTests, KexecTests) share: a shell command, and the two Debian
/// kernels they boot.
extension Harness {
    func shell(_ command: String) throws -> (status: Int32, output: String) {
        let outcome = finish(try start(["/bin/sh", "-c", command + " 2>&1"], executable: "/usr/bin/env"))
        return (outcome.status, outcome.stdout)
    }

    /// The two newest `linux-image-6.1.0-NN-amd64` the registry offers (the package lists read again
    /// when they name fewer).
    func newestDebianKernels(update: Bool = false) throws -> [String] {
        func offered() throws -> [String] {
            let listed = try shell("apt-cache search --names-only '^linux-image-6\\.1\\.0-[0-9]+-amd64$'").output
            let numbers = listed.split(separator: "\n").compactMap { line -> Int? in
                guard let name = line.split(separator: " ").first, name.hasPrefix("linux-image-6.1.0-") else { return nil }
                return Int(name.dropFirst("linux-image-6.1.0-".count).dropLast("-amd64".count))
            }
            return numbers.sorted().suffix(2).map { "6.1.0-\($0)-amd64" }
        }
        var releases = update ? [] : try offered()
        if releases.count < 2 {
            XCTAssertEqual(try shell("apt-get update -qq").status, 0)
            releases = try offered()
        }
        XCTAssertEqual(releases.count, 2, "the registry offers fewer than two linux-image-6.1.0-NN-amd64")
        return releases
    }
}
