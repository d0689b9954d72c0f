import Glibc
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis

/// One kernel of a comparison: its image, its release and the kernel arguments added for it.
public struct KernelImage: Equatable, Sendable {
    /// A, B, C...: the base is A.
    public let label: String
    public let path: String
    public let release: String
    public let append: String
    /// The initrd the kexec driver loads with the image; "" for the vm driver (virtme-ng makes its own).
    public let initrd: String

    public init(label: String, path: String, release: String, append: String, initrd: String = "") {
        self.label = label
        self.path = path
        self.release = release
        self.append = append
        self.initrd = initrd
    }

    /// The release as part of a file name: other characters than letters, digits and `._+-` (a `/`
    /// in a bzImage header's release) become `_`, so that it names no other folder.
    public var safeRelease: String {
        String(release.map { $0.isASCII && ($0.isLetter || $0.isNumber || "._+-".contains($0)) ? $0 : "_" })
    }

    /// The stem of a boot's results file: `A-6.1.0-57-amd64-boot2`.
    public func stem(boot: Int) -> String { "\(label)-\(safeRelease)-boot\(boot)" }
}

/// The letter of the kernel at `index`: A for the base, then B, C...
public func kernelLabel(_ index: Int) -> String { String(UnicodeScalar(UInt8(65 + index))) }

/// A kernel as the command line names it: a path to an image, or a release with /boot/vmlinuz-<release>.
/// Returns the image's absolute path and its release (from the bzImage header where it has one).
public func resolveKernel(_ text: String, bootDirectory: String = "/boot") throws -> (path: String, release: String) {
    let candidate = text.contains("/") ? text : "\(bootDirectory)/vmlinuz-\(text)"
    guard fileStatus(candidate)?.kind == .regular, let path = resolvedPath(candidate) else {
        let installed = bootReleases(bootDirectory)
        let choices = installed.isEmpty ? "\(bootDirectory) has none" : "in \(bootDirectory): \(installed.joined(separator: ", "))"
        throw InputError("kernel '\(excerpt(text))': no such kernel image (\(candidate)); give the path to an image or a release (\(choices))")
    }
    guard canAccess(path, .read) else { throw InputError("kernel '\(excerpt(text))': \(path) is not readable; run as root or copy the image") }
    let name = String(path.split(separator: "/").last ?? "")
    let release = bzImageRelease(path) ?? (name.hasPrefix("vmlinuz-") ? String(name.dropFirst(8)) : name)
    return (path, release)
}

/// The releases with an image in `directory` (vmlinuz-<release>), sorted.
package func bootReleases(_ directory: String) -> [String] {
    (directoryNames(directory) ?? []).filter { $0.hasPrefix("vmlinuz-") }.map { String($0.dropFirst(8)) }.sorted()
}

/// The release an x86 bzImage names in its setup header (the `kernel_version` string), or nil.
package func bzImageRelease(_ path: String) -> String? {
    // O_NONBLOCK: a FIFO given as the image must not wait for a writer.
    let fd = openFileOrErrno(path, O_RDONLY | O_NONBLOCK)
    guard fd >= 0 else { return nil }
    defer { closeDescriptor(fd) }
    func bytes(at offset: Int, _ count: Int) -> [UInt8] { readBytes(fd, at: offset, count: count) }
    guard bytes(at: 0x202, 4) == Array("HdrS".utf8) else { return nil }
    let pointer = bytes(at: 0x20E, 2)
    guard pointer.count == 2 else { return nil }
    let text = bytes(at: (Int(pointer[0]) | Int(pointer[1]) << 8) + 0x200, 128)
    let release = String(decoding: text.prefix { $0 > 32 && $0 < 127 }, as: UTF8.self)
    return release.isEmpty ? nil : release
}

/// One boot of the plan: kernel `kernel` (an index into the plan's kernels), its `boot`-th boot (from 1).
public struct BootSlot: Equatable, Sendable {
    public let kernel: Int
    public let boot: Int
}

/// Rounds of one boot of every kernel, A B A B ...; with a seed, each round's order is shuffled
/// (SplitMix64), so every kernel still gets one boot per round and drift cancels.
public func bootOrder(kernels: Int, boots: Int, seed: UInt64?) -> [BootSlot] {
    var generator = seed.map(SeededGenerator.init)
    return (1...boots).flatMap { boot -> [BootSlot] in
        var round = (0..<kernels).map { BootSlot(kernel: $0, boot: boot) }
        generator?.shuffle(&round)
        return round
    }
}

/// How a guest is accelerated: `auto` tries KVM and falls back to emulation; `none` is no guest at all
/// (the kexec driver boots the machine itself), which `--accel` does not take.
public enum Accel: String, CaseIterable, Sendable {
    case auto, kvm, tcg, none
}

/// The guest every boot gets.
public struct GuestShape: Equatable, Sendable {
    public let vcpus: Int
    public let memoryMiB: Int
    /// Host CPUs for the vCPU threads, one each; empty for no pinning.
    public let pinCPUs: [Int]
    public let accel: Accel

    public init(vcpus: Int, memoryMiB: Int, pinCPUs: [Int], accel: Accel) {
        self.vcpus = vcpus
        self.memoryMiB = memoryMiB
        self.pinCPUs = pinCPUs
        self.accel = accel
    }
}

/// Parses a CPU list, `0,2-3`, and checks each CPU is one this process may use.
public func parseCPUList(_ text: String, what: String, allowed: [Int] = allowedCPUs()) throws -> [Int] {
    var cpus: [Int] = []
    for item in text.split(separator: ",", omittingEmptySubsequences: false) {
        let ends = item.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
        guard (1...2).contains(ends.count), let low = ends.first!, let high = ends.last!, low <= high else {
            throw InputError("\(what) '\(excerpt(text))': '\(item)' is not a CPU or a range; write CPUs as 0,1 or 0-3")
        }
        for cpu in low...high where !cpus.contains(cpu) {
            guard allowed.contains(cpu) else {
                throw InputError("\(what) '\(excerpt(text))': CPU \(cpu) is not one this process may use (\(allowed.map(String.init).joined(separator: ",")))")
            }
            cpus.append(cpu)
        }
    }
    return cpus
}

/// How the boots are made: a virtual machine each (`vm`), or the machine itself rebooted by kexec.
public enum DriverKind: String, CaseIterable, Sendable {
    case vm, kexec
}

/// Everything that decides what a comparison measures: what a resume must find unchanged.
public struct KernelPlan {
    public let driver: DriverKind
    public let kernels: [KernelImage]
    public let boots: Int
    public let orderSeed: UInt64?
    public let order: [BootSlot]
    /// `ipcbench run`'s arguments inside every guest, before the output option.
    public let runArguments: [String]
    public let guest: GuestShape
    /// The plan as the journal writes it: a key and a value each, in a fixed order.
    public let fields: [JournalField]

    /// `configPath`: the suite's file, nil for the default suite; a config edited between two
    /// invocations is a different plan.
    /// `guest` matters to the vm driver only; a kexec plan records the initrds instead.
    public init(kernels: [KernelImage], boots: Int, orderSeed: UInt64?, runArguments: [String],
                configPath: String?, guest: GuestShape, driver: DriverKind = .vm) {
        self.driver = driver
        self.kernels = kernels
        self.boots = boots
        self.orderSeed = orderSeed
        self.order = bootOrder(kernels: kernels.count, boots: boots, seed: orderSeed)
        self.runArguments = runArguments
        self.guest = guest
        let order = self.order
        let common = [JournalField("journal", "1")]
            + kernels.map { k in
                JournalField("kernel \(k.label)", "\(k.path) release=\(k.release) append=\(k.append)" + (driver == .kexec ? " initrd=\(k.initrd)" : ""))
            }
            + [JournalField("boots", String(boots)), JournalField("order seed", orderSeed.map(String.init) ?? "none"),
               JournalField("order", order.map { "\(kernels[$0.kernel].label)\($0.boot)" }.joined(separator: " ")),
               JournalField("config", configPath.map { "\($0) fnv1a=\(fnv1a(readWholeFile($0) ?? ""))" } ?? "the default suite"),
               JournalField("run options", runArguments.joined(separator: " "))]
        switch driver {
        case .vm:
            // (a vm journal names no driver: the journals written before there was a choice resume unchanged)
            fields = common + [JournalField("vcpus", String(guest.vcpus)), JournalField("memory", "\(guest.memoryMiB)MiB"),
                               JournalField("pin vcpus", guest.pinCPUs.map(String.init).joined(separator: ",")),
                               JournalField("accel", guest.accel.rawValue)]
        case .kexec:
            fields = common + [JournalField("driver", "kexec")]
        }
    }

    /// A digest of the plan, which names its systemd unit: 16 hex digits.
    public var digest: String { Self.digest(of: fields) }

    /// The digest of a plan as a journal records it.
    public static func digest(of fields: [JournalField]) -> String {
        let hash = fnv1a(fields.map { "\($0.key)=\($0.value)" }.joined(separator: "\n"))
        return String(repeating: "0", count: 16 - hash.count) + hash
    }

    /// The first field in which `recorded` differs from this plan, or nil when they agree.
    public func difference(from recorded: [JournalField]) -> String? {
        for field in fields {
            let old = recorded.first { $0.key == field.key }?.value
            if old != field.value { return "\(field.key): \(old.map { "'\($0)'" } ?? "none") then, '\(field.value)' now" }
        }
        if let extra = recorded.first(where: { r in !fields.contains { $0.key == r.key } }) {
            return "\(extra.key): '\(extra.value)' then, none now"
        }
        return nil
    }
}

/// FNV-1a, 64 bits, in hex: enough to tell that a config's text changed.
package func fnv1a(_ text: String) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return String(hash, radix: 16)
}
