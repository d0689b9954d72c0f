import IPCPlatform

/// bench-configs/default.toml, compiled in so that `ipcbench run` needs no file.
/// A test checks that the two are identical.
public let embeddedDefaultConfig = #"""
# The default suite: what `ipcbench run` runs with no config file.
# It is compiled into the binary; a test checks that the two stay identical.

[defaults]
# The six classic kernel paths; `-t all` adds socketpair, unix-seqpacket, tcp6, udp6, mq, vmsplice
# and shared memory (the default suite keeps its run time).
transports = ["pipe", "fifo", "unix-stream", "unix-dgram", "tcp", "udp"]
repetitions = 5
warmup = 1
cpus = "auto"           # split where there are two CPUs or more, else same
timeout = "30s"
# Trials shorter than this move proportionally more data (calibrated on the warmup trial).
min_trial_time = "200ms"

[[suite]]
name = "throughput"
pattern = "throughput"
sizes = ["64", "1KiB", "4KiB", "32KiB"]
total = "10MiB"

# 64 KiB messages do not fit a UDP datagram (65507 bytes at most), so udp stops at 32 KiB above.
[[suite]]
name = "throughput-64k"
pattern = "throughput"
transports = ["pipe", "fifo", "unix-stream", "unix-dgram", "tcp"]
sizes = ["64KiB"]
total = "10MiB"

[[suite]]
name = "latency"
pattern = "latency"
sizes = ["1", "64", "1KiB", "4KiB"]
count = 20000
"""#
