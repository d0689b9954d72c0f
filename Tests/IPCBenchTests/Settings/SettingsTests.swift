import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

/// Each setting is one config key and one option, read by the same code with the same bounds.
final class SettingsTests: XCTestCase {
    /// A value each setting accepts, as the command line writes it.
    static let samples: [String: String] = [
        "transports": "pipe,tcp", "sizes": "64,1KiB", "total": "1MiB", "count": "500", "repetitions": "3", "warmup": "0",
        "cpus": "same", "timeout": "10s", "min_trial_time": "0s", "depth": "1,4", "receivers": "2", "pairs": "2",
        "publishers": "1", "subscribers": "2", "topics": "2", "subscriptions": "1", "topology": "direct",
        "pipe_size": "1MiB", "sndbuf": "256KiB", "rcvbuf": "256KiB", "busy_poll": "50", "notsent_lowat": "16KiB",
        "nodelay": "off", "workers": "thread", "rate": "1000,10000", "wait": "poll,busy",
    ]

    func testEverySettingIsAnOptionAndTheOptionsGiveItBack() throws {
        let keys = Setting.all.map(\.key)
        XCTAssertEqual(Set(keys).count, keys.count, "a config key twice")
        XCTAssertEqual(Set(keys), Set(Self.samples.keys), "a setting without a sample here, or a sample without a setting")
        let arguments = Setting.all.flatMap { [$0.option, Self.samples[$0.key]!] }
        let options = try RunOptions.parse(arguments)
        let layer = try options.layer()
        // The options as kernels passes them to each guest's run make the same layer again.
        XCTAssertEqual(try RunOptions.parse(options.arguments).layer(), layer)
        for setting in Setting.all {
            var alone = SettingLayer()
            try alone.read(setting.key, option: Self.samples[setting.key]!)
            XCTAssertNotEqual(alone, SettingLayer(), "\(setting.option) \(Self.samples[setting.key]!) set nothing")
        }
        XCTAssertEqual(layer.repetitions, 3)
        XCTAssertEqual(layer.sizes, [64, 1024])
        XCTAssertEqual(layer.transports, [.pipe, .tcp])
        XCTAssertEqual(layer.noDelay, false)
    }

    func testABadValueIsRefusedByNameWithWhatIsExpected() throws {
        for (option, value) in [("--repetitions", "0"), ("--size", "-1"), ("--transport", "carrier-pigeon"), ("--timeout", "forever"),
                                ("--nodelay", "maybe"), ("--workers", "fibers"), ("--depth", "2000")] {
            XCTAssertThrowsError(try RunOptions.parse([option, value]).layer(), "\(option) \(value)") { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains(option) || text.contains(value), "\(option) \(value): \(text)")
                XCTAssertFalse(text.contains("\n"), "\(option) \(value): not one line: \(text)")
            }
        }
    }

    func testTheCommandLineIsTheTopLayer() throws {
        var lower = SettingLayer()
        try lower.read("repetitions", option: "7")
        try lower.read("warmup", option: "2")
        var upper = SettingLayer()
        try upper.read("repetitions", option: "2")
        try upper.read("sizes", option: "128")
        let merged = upper.over(lower)
        XCTAssertEqual(merged.repetitions, 2, "the upper layer's value")
        XCTAssertEqual(merged.sizes, [128])
        XCTAssertEqual(merged.warmup, 2, "a value the upper layer leaves unset comes from below")
    }
}
