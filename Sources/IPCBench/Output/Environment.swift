import Glibc

/// The version written in every row; bump it when columns are added (see the README).
public let ipcbenchVersion = "0.1.0"

/// The machine and run a result file describes, read from the running system.
public struct Environment: Sendable, Equatable {
    public var runID: String
    public var timestampUTC: String
    public var hostname: String
    public var kernelRelease: String
    public var kernelVersion: String
    public var arch: String
    public var cpuModel: String
    public var cpusOnline: Int
    public var version: String
    /// The median cost of one clock read, measured at start-up.
    public var clockOverheadNs: Double

    public static func current() -> Environment {
        var names = utsname()
        uname(&names)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        }
        let now = time(nil)
        let stamp = utcStamp(now)
        let host = field(names.nodename)
        return Environment(
            runID: "\(stamp.compact)-\(host)",
            timestampUTC: stamp.iso,
            hostname: host,
            kernelRelease: field(names.release),
            kernelVersion: field(names.version),
            arch: field(names.machine),
            cpuModel: cpuModelName(),
            cpusOnline: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))),
            version: ipcbenchVersion,
            clockOverheadNs: measureClockOverhead())
    }

    /// The default file stem: `<UTC yyyymmdd-HHMMSS>-<hostname>-<kernel release>`.
    public var defaultStem: String { "\(runID)-\(kernelRelease)" }
}

/// `2026-11-21T13:05:09Z` and `20261121-130509` for a time in seconds since the epoch.
func utcStamp(_ seconds: time_t) -> (iso: String, compact: String) {
    var t = seconds
    var parts = tm()
    gmtime_r(&t, &parts)
    func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
    let date = "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))"
    let clock = "\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))"
    let iso = "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    return (iso, "\(date)-\(clock)")
}

/// The CPU's name from /proc/cpuinfo ("model name", or on some architectures "Model"/"cpu model").
func cpuModelName() -> String {
    guard let text = readWholeFile("/proc/cpuinfo") else { return "" }
    for line in text.split(separator: "\n") {
        let parts = line.split(separator: ":", maxSplits: 1)
        guard parts.count == 2 else { continue }
        let key = String(parts[0]).trimmingWhitespace()
        if key == "model name" || key == "Model" || key == "cpu model" {
            return String(parts[1]).trimmingWhitespace()
        }
    }
    return ""
}
