// swift-tools-version:6.2
import PackageDescription

// The project's own targets build without a warning: the compiler turns every warning into an error
// (the packages it depends on are not ours to fix, and keep their warnings).
let strict: [SwiftSetting] = [.treatAllWarnings(as: .error)]

let package = Package(
    name: "ipcbench",
    products: [
        .executable(name: "ipcbench", targets: ["ipcbench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // librt: mq_open and friends before glibc 2.34 (an empty archive since).
        .target(name: "CShims", dependencies: ["CLiburing"], linkerSettings: [.linkedLibrary("rt")]),
        // io_uring for --wait uring, through CShims' wrappers (liburing's calls are inline functions).
        .systemLibrary(
            name: "CLiburing",
            pkgConfig: "liburing",
            providers: [.apt(["liburing-dev"])]
        ),
        .systemLibrary(
            name: "CJemalloc",
            pkgConfig: "jemalloc",
            providers: [.apt(["libjemalloc-dev"])]
        ),
        // The history database's clients: the system's SQLite and PostgreSQL's libpq (scripts/setup --history).
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // The layers, each a target, so the compiler refuses an arrow the wrong way: IPCPlatform (system
        // calls, files, processes, clocks) <- IPCModel (settings, the case and its key, metrics, the
        // result record and its files) <- IPCRun (plan, runner, workers, transports, patterns) and
        // IPCAnalysis (reading results, compare, pivot, exporters, history) <- IPCLab (kernels, bisect)
        // <- the command. Shared internals are `package`. Only IPCPlatform depends on CShims (and so
        // on liburing): every system call goes through it (PlatformBoundaryTests fails on any other).
        .target(name: "IPCPlatform", dependencies: ["CShims", "CJemalloc"], swiftSettings: strict),
        .target(
            name: "IPCModel",
            dependencies: [
                "IPCPlatform",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "IPCRun",
            dependencies: ["IPCPlatform", "IPCModel", .product(name: "Histogram", package: "hdrhistogram-swift")],
            swiftSettings: strict
        ),
        .target(name: "IPCAnalysis", dependencies: ["IPCPlatform", "IPCModel", "CSQLite", "CLibPQ"], swiftSettings: strict),
        .target(name: "IPCLab", dependencies: ["IPCPlatform", "IPCModel", "IPCRun", "IPCAnalysis"], swiftSettings: strict),
        .executableTarget(
            name: "ipcbench",
            dependencies: [
                "IPCPlatform", "IPCModel", "IPCRun", "IPCAnalysis", "IPCLab",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "IPCBenchTests", dependencies: ["IPCPlatform", "IPCModel", "IPCRun", "IPCAnalysis", "IPCLab", "CShims", .product(name: "Histogram", package: "hdrhistogram-swift")], swiftSettings: strict),
        .testTarget(name: "EndToEndTests", dependencies: ["IPCPlatform", "IPCModel", "IPCRun", "IPCAnalysis", "IPCLab", "CShims", .product(name: "Histogram", package: "hdrhistogram-swift")], swiftSettings: strict),
    ]
)
