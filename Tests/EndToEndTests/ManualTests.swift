import Foundation
import XCTest

/// The man pages in docs/man are generated from the commands' own help by swift-argument-parser's
/// generate-manual (scripts/man); they must say what the binary's --help says.
final class ManualTests: XCTestCase {
    func testManPagesAreCurrent() throws {
        let h = try Harness()
        defer { try? h.finishChecks() }
        // scripts/test builds the generator next to the binary, with the same flags.
        let generator = URL(fileURLWithPath: Harness.binary).deletingLastPathComponent().appendingPathComponent("generate-manual").path
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: generator),
                      "build the generator first: swift build -c release -Xswiftc -enable-testing --product generate-manual --scratch-path .build/test")
        let committed = Harness.repository.appendingPathComponent("docs/man")
        let main = try String(contentsOf: committed.appendingPathComponent("ipcbench.1"), encoding: .utf8)
        // The pages keep the date they were made on: regenerate with that date, so that only the text counts.
        let dated = try XCTUnwrap(main.split(separator: "\n").first { $0.hasPrefix(".Dd ") }, "docs/man/ipcbench.1 has no .Dd line")
        let date = try XCTUnwrap(Self.isoDate(String(dated.dropFirst(4))), "cannot read the date in \(dated)")
        let fresh = h.work.appendingPathComponent("man")
        try FileManager.default.createDirectory(at: fresh, withIntermediateDirectories: true)
        let outcome = h.finish(try h.start([Harness.binary, "--multi-page", "--date", date, "--authors", "the ipcbench developers",
                                            "--output-directory", fresh.path], executable: generator))
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let names = try FileManager.default.contentsOfDirectory(atPath: fresh.path).sorted()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: committed.path).sorted(), names,
                       "docs/man has other pages than the commands: run scripts/man")
        XCTAssertGreaterThan(names.count, 5)
        for name in names {
            let want = try String(contentsOf: fresh.appendingPathComponent(name), encoding: .utf8)
            let have = try? String(contentsOf: committed.appendingPathComponent(name), encoding: .utf8)
            XCTAssertEqual(have, want, "docs/man/\(name) is stale: run scripts/man")
            // The reference page is the man page in Markdown, by mandoc (scripts/setup --test installs it).
            let page = "docs/reference/" + name.dropLast(2) + ".md"
            let markdown = h.finish(try h.start(["mandoc", "-T", "markdown", fresh.appendingPathComponent(name).path], executable: "/usr/bin/env"))
            XCTAssertEqual(markdown.status, 0, markdown.stderr)
            XCTAssertEqual(try? String(contentsOf: Harness.repository.appendingPathComponent(page), encoding: .utf8), markdown.stdout,
                           "\(page) is stale: run scripts/man")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: Harness.repository.appendingPathComponent("docs/reference").path).count,
                       names.count, "docs/reference has other pages than the commands: run scripts/man")
    }

    /// "December 7, 2026" → "2026-12-07".
    static func isoDate(_ text: String) -> String? {
        let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                      "November", "December"]
        let parts = text.replacingOccurrences(of: ",", with: "").split(separator: " ")
        guard parts.count == 3, let month = months.firstIndex(of: String(parts[0])), let day = Int(parts[1]), let year = Int(parts[2])
        else { return nil }
        return String(format: "%04d-%02d-%02d", year, month + 1, day)
    }
}
