import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

final class ResultsFileTests: XCTestCase {
    func testCaseHeaderIsDesignsColumns() {
        XCTAssertEqual(csvLine(caseColumns), "run_id,timestamp_utc,hostname,kernel_release,kernel_version,arch,cpu_model,cpus_online,ipcbench_version,mitigations,kernel_cmdline_mitigations,kernel_cmdline_preempt,smt,clocksource,cpu_governor,boot_id,proc_version,kernel_cmdline,virtualization,command,transport,pattern,payload_bytes,messages_per_trial,bytes_per_trial,repetitions,warmup,cpu_placement,options,schedule,seed,depth,receivers,pairs,publishers,subscribers,topics,subscriptions,topology,rate,wait,workers,nodelay,pipe_size,sndbuf,rcvbuf,busy_poll,notsent_lowat,status,error,mib_per_s_median,mib_per_s_ci95_low,mib_per_s_ci95_high,mib_per_s_mean,mib_per_s_stddev,mib_per_s_min,mib_per_s_max,msgs_per_s_median,mib_per_s_slowest_median,mib_per_s_forward_median,mib_per_s_backward_median,cpu_us_per_msg_median,delivery_us_p50_median,delivery_us_p99_median,offered_msgs_per_s,achieved_msgs_per_s_median,late_share,pacing_overshoot_us_p99,delivery_us_p999_median,delivery_us_p999_uncorrected_median,rtt_us_min,rtt_us_p50,rtt_us_p90,rtt_us_p99,rtt_us_p999,rtt_us_max,rtt_us_mean,rtt_us_stddev,rtt_us_p999_uncorrected,cpu_user_us_per_msg,cpu_sys_us_per_msg,ctxsw_voluntary_per_msg,ctxsw_involuntary_per_msg,msgs_sent,msgs_received,msgs_lost,msgs_reordered,msgs_duplicated,alloc_bytes_in_loop,clock_overhead_ns,peers_rejected\r\n")
    }

    func testTrialsHeader() {
        XCTAssertEqual(csvLine(trialColumns), "run_id,transport,pattern,payload_bytes,cpu_placement,options,trial,duration_ns,bytes,messages,mib_per_s,rtt_us_p50,rtt_us_p99,round,start_ns,depth,receivers,pairs,msgs_per_s,mib_per_s_slowest,publishers,subscribers,topics,subscriptions,topology,mib_per_s_forward,mib_per_s_backward,cpu_us_per_msg,delivery_us_p50,delivery_us_p99,rate,wait,offered_msgs_per_s,achieved_msgs_per_s,late_share,pacing_overshoot_us_p99,delivery_us_p999,delivery_us_p999_uncorrected\r\n")
    }

    func testQuoting() {
        XCTAssertEqual(csvField("plain"), "plain")
        XCTAssertEqual(csvField("split:0,1"), "\"split:0,1\"")
        XCTAssertEqual(csvField("say \"hi\""), "\"say \"\"hi\"\"\"")
        XCTAssertEqual(csvField("two\nlines"), "\"two\nlines\"")
        XCTAssertEqual(parseCSV("a,\"b,c\",\"d \"\"e\"\"\"\r\n1,,3\r\n"), [["a", "b,c", "d \"e\""], ["1", "", "3"]])
        // "\r\n" is a single Character: it must still be quoted.
        XCTAssertEqual(csvField("0.0\r\n"), "\"0.0\r\n\"")
        XCTAssertEqual(parseCSV(csvLine(["a\r\nb", "c"])), [["a\r\nb", "c"]])
    }

    func testDecimals() {
        XCTAssertEqual(formatDecimal(1234.5678, places: 3), "1234.568")
        XCTAssertEqual(formatDecimal(0.00001, places: 4), "0.0000")
        XCTAssertEqual(formatDecimal(0.05, places: 3), "0.050")
        XCTAssertEqual(formatDecimal(-2.5, places: 1), "-2.5")
        XCTAssertEqual(formatDecimal(12e9, places: 0), "12000000000")
        XCTAssertEqual(formatDecimal(.nan, places: 2), "")
    }

    func testGoldenRows() {
        let env = Environment(runID: "20261121-120000-host", timestampUTC: "2026-11-21T12:00:00Z", hostname: "host",
                              kernelRelease: "6.1.0", kernelVersion: "#1 SMP, PREEMPT", arch: "x86_64",
                              cpuModel: "Test CPU", cpusOnline: 2, version: "0.2.0",
                              mitigations: "spectre_v2: Mitigation: Retpolines; STIBP: disabled", cmdlineMitigations: "auto",
                              cmdlinePreempt: "", smt: "notsupported", clocksource: "tsc", cpuGovernor: "",
                              bootID: "0f6c0c9e-1b39-4a5e-9d1e-2f6b7a1c3d4e", procVersion: "Linux version 6.1.0 (gcc 12) #1 SMP",
                              kernelCmdline: "BOOT_IMAGE=/vmlinuz root=/dev/vda mitigations=auto", virtualization: "tcg",
                              command: runCommand(["/usr/bin/ipcbench", "run", "-t", "udp", "-o", "it's here.csv"], configSHA256: "ab12"),
                              clockOverheadNs: 20)
        let c = BenchCase(suite: "t", transport: .udp, pattern: .throughput, payloadBytes: 1024, messages: 10,
                          repetitions: 2, warmup: 1, placement: .split, timeoutNs: 1, minTrialNs: 0, verify: false)
        var r = CaseResult(c, status: .ok, error: "")
        r.cpuPlacement = "split:0,1"
        r.seed = 42
        r.peersRejected = 3
        r.summaries = [.throughput: Summary([100, 200])!, .messagesPerSecond: Summary([150_000])!, .cpuPerMessage: Summary([1, 1.5])!]
        r.trials = [TrialRecord(trial: 1, durationNs: 1_000_000, bytes: 10240, messages: 10, values: [.throughput: 100, .cpuPerMessage: 1.25],
                                round: 2, startNs: 1_500_000)]
        r.usage.userMicroseconds = 5
        r.usage.systemMicroseconds = 15
        r.measuredMessages = 20
        var d = DatagramCounts()
        d.sent = 20; d.received = 19; d.lost = 1
        r.datagrams = d
        r.allocatedBytesInLoop = 0
        XCTAssertEqual(csvLine(caseRow(r, env)), "20261121-120000-host,2026-11-21T12:00:00Z,host,6.1.0,\"#1 SMP, PREEMPT\",x86_64,Test CPU,2,0.2.0,spectre_v2: Mitigation: Retpolines; STIBP: disabled,auto,,notsupported,tsc,,0f6c0c9e-1b39-4a5e-9d1e-2f6b7a1c3d4e,Linux version 6.1.0 (gcc 12) #1 SMP,BOOT_IMAGE=/vmlinuz root=/dev/vda mitigations=auto,tcg,ipcbench run -t udp -o 'it'\\''s here.csv' (config sha256 ab12),udp,throughput,1024,10,10240,2,1,\"split:0,1\",,interleaved,42,,,,,,,,,,,process,,,,,,,ok,,150.000,100.000,200.000,150.000,70.711,100.000,200.000,150000,,,,1.2500,,,,,,,,,,,,,,,,,,0.2500,0.7500,0.0000,0.0000,20,19,1,0,0,0,20.0,3\r\n")
        XCTAssertEqual(csvLine(trialRow(r, r.trials[0], env)), "20261121-120000-host,udp,throughput,1024,\"split:0,1\",,1,1000000,10240,10,100.000,,,2,1500000,,,,,,,,,,,,,1.2500,,,,,,,,,,\r\n")
        let skipped = CaseResult(c, status: .skipped, error: "too big")
        XCTAssertEqual(caseRow(skipped, env).count, caseColumns.count)
        XCTAssertEqual(caseRow(skipped, env)[caseColumns.firstIndex(of: "status")!], "skipped")
        XCTAssertEqual(caseRow(skipped, env)[caseColumns.firstIndex(of: "error")!], "too big")
    }

    func testVirtualizationNamesTheHypervisorVendor() {
        XCTAssertEqual(hypervisorName(vendor: "KVMKVMKVM"), "kvm")
        XCTAssertEqual(hypervisorName(vendor: "TCGTCGTCGTCG"), "tcg")
        XCTAssertEqual(hypervisorName(vendor: "Microsoft Hv"), "hyperv")
        XCTAssertEqual(hypervisorName(vendor: "VMwareVMware"), "vmware")
        XCTAssertEqual(hypervisorName(vendor: "XenVMMXenVMM"), "xen")
        XCTAssertEqual(hypervisorName(vendor: "bhyve bhyve "), "bhyve bhyve")
        XCTAssertEqual(hypervisorName(vendor: ""), "unknown")
        XCTAssertFalse(virtualizationName().isEmpty)
    }

    func testDecimalsNeverTrapOrUseExponents() {
        XCTAssertEqual(formatDecimal(1e19, places: 0), "10000000000000000000")
        XCTAssertEqual(formatDecimal(1e19, places: 3), "10000000000000000000.000")
        XCTAssertEqual(formatDecimal(-1e19, places: 1), "-10000000000000000000.0")
        XCTAssertEqual(formatDecimal(1e40, places: 0), "10000000000000000303786028427003666890752")
        XCTAssertEqual(formatDecimal(Double(9_007_199_254_740_993 as Int), places: 6), "9007199254740992.000000")
        XCTAssertEqual(formatDecimal(4_503_599_627_370_495.5, places: 6), "4503599627370495.500000")
        XCTAssertEqual(formatDecimal(4_503_599_627_370_495.5, places: 4), "4503599627370495.5000")
        XCTAssertEqual(formatDecimal(Double.greatestFiniteMagnitude, places: 2).count, 309 + 3)
        XCTAssertEqual(formatDecimal(Double.leastNonzeroMagnitude, places: 3), "0.000")
        XCTAssertEqual(formatDecimal(-Double.leastNonzeroMagnitude, places: 3), "0.000")
        XCTAssertEqual(formatDecimal(.infinity, places: 2), "")
        XCTAssertEqual(formatDecimal(-.infinity, places: 0), "")
        XCTAssertEqual(formatDecimal(2.5, places: -1), "3")
        XCTAssertEqual(formatDecimal(0.5, places: 1000), "0." + "5" + String(repeating: "0", count: 29))
        // The exact path agrees with the fast one where both apply.
        for value in [0.0, 1, 2.5, 123.456, 1e15, 8.9e18] {
            XCTAssertEqual(exactScaledDigits(value, places: 0), String(Int64(value.rounded())), "\(value)")
        }
        XCTAssertEqual(exactScaledDigits(2.5, places: 0), "3")
        XCTAssertEqual(exactScaledDigits(0.125, places: 2), "13")
    }
}

/// SHA-256 against the FIPS 180-4 examples and a value from sha256sum.
final class SHA256Tests: XCTestCase {
    func testKnownDigests() {
        XCTAssertEqual(sha256Hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(sha256Hex([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(sha256Hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(sha256Hex([UInt8](repeating: 0x61, count: 1000)), "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }
}
