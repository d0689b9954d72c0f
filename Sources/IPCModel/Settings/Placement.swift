import IPCPlatform

/// Where a trial's workers run: on different CPUs, on one CPU, wherever the scheduler puts them,
/// or on CPUs the user lists. `auto` is split where the process may use two CPUs or more, else
/// same; planning resolves it, so results only ever say split or same.
public enum CPUPlacement: Equatable, Sendable, CustomStringConvertible {
    case auto
    case split
    case same
    case none
    /// Worker i on CPU list[i % list.count]: `A,B` for two workers, or one CPU per worker.
    case pinned([Int])

    public init(parsing text: String) throws {
        switch text.trimmingWhitespace() {
        case "auto": self = .auto
        case "split": self = .split
        case "same": self = .same
        case "none": self = .none
        case let other:
            let cpus = other.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
            guard cpus.count >= 2, cpus.count <= 1024, cpus.allSatisfy({ ($0 ?? -1) >= 0 && ($0 ?? 0) < 1 << 20 }) else {
                throw InputError("cpus '\(excerpt(text))' is not a placement: use auto, split, same, none, or a list of CPU numbers A,B[,C...] (one per worker, used in turn)")
            }
            self = .pinned(cpus.map { $0! })
        }
    }

    /// The mode word that starts the cpu_placement column, and that compare joins on.
    public var mode: String {
        switch self {
        case .auto: return "auto"
        case .split: return "split"
        case .same: return "same"
        case .none: return "none"
        case .pinned: return "pinned"
        }
    }

    public var description: String {
        if case let .pinned(list) = self { return list.map(String.init).joined(separator: ",") }
        return mode
    }

    /// `auto` made concrete for a process that may use `allowed`.
    public func resolved(allowed: [Int]) -> CPUPlacement {
        self == .auto ? (allowed.count >= 2 ? .split : .same) : self
    }

    /// The CPU each of `workers` workers is asked to run on (nil: anywhere), from the CPUs this
    /// process may use. `split` puts the workers round-robin on the last `workers` allowed CPUs
    /// (CPU 0 tends to take more interrupts), wrapping when there are more workers than CPUs;
    /// `same` puts all on the first; an explicit list is used in turn.
    public func cpus(workers: Int, allowed: [Int]) throws -> [Int?] {
        switch self {
        case .auto:
            return try resolved(allowed: allowed).cpus(workers: workers, allowed: allowed)
        case .none:
            return [Int?](repeating: nil, count: workers)
        case .same:
            guard let first = allowed.first else { throw InputError("no CPU is available to this process") }
            return [Int?](repeating: first, count: workers)
        case .split:
            guard allowed.count >= 2 else {
                throw InputError("--cpus split needs two CPUs but this process may use only \(allowed.count) (\(allowed.map(String.init).joined(separator: ","))); use --cpus same or none")
            }
            let start = allowed.count - min(workers, allowed.count)
            return (0..<workers).map { allowed[(start + $0) % allowed.count] }
        case let .pinned(list):
            for cpu in list where !allowed.contains(cpu) {
                throw InputError("--cpus \(description): CPU \(cpu) is not available to this process (available: \(allowed.map(String.init).joined(separator: ",")))")
            }
            return (0..<workers).map { list[$0 % list.count] }
        }
    }
}
