import IPCPlatform
import IPCModel

/// A 128-bit SipHash key: k0 from bytes 0..<8, k1 from bytes 8..<16, little-endian.
package struct SipHashKey: Equatable, Sendable {
    package let k0: UInt64
    package let k1: UInt64

    package init(k0: UInt64, k1: UInt64) {
        self.k0 = k0
        self.k1 = k1
    }

    /// The key made of 16 bytes, as the reference implementation reads them.
    package init(_ bytes: [UInt8]) {
        precondition(bytes.count == 16)
        var k0: UInt64 = 0, k1: UInt64 = 0
        for i in 0..<8 {
            k0 |= UInt64(bytes[i]) << UInt64(8 * i)
            k1 |= UInt64(bytes[8 + i]) << UInt64(8 * i)
        }
        self.init(k0: k0, k1: k1)
    }
}

@inline(__always)
private func rotl(_ x: UInt64, _ b: UInt64) -> UInt64 { (x << b) | (x >> (64 &- b)) }

/// One SipRound (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012, section 2).
@inline(__always)
private func sipRound(_ v0: inout UInt64, _ v1: inout UInt64, _ v2: inout UInt64, _ v3: inout UInt64) {
    v0 = v0 &+ v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
    v2 = v2 &+ v3; v3 = rotl(v3, 16); v3 ^= v2
    v0 = v0 &+ v3; v3 = rotl(v3, 21); v3 ^= v0
    v2 = v2 &+ v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
}

/// SipHash-2-4 of `count` bytes at `data` under `key`: two rounds per 8-byte word, four to finish.
/// Plain arithmetic on the stack: it allocates nothing, so the timed loops may call it.
@inline(__always)
package func sipHash24(_ key: SipHashKey, _ data: UnsafeRawPointer, _ count: Int) -> UInt64 {
    var v0 = key.k0 ^ 0x736f_6d65_7073_6575
    var v1 = key.k1 ^ 0x646f_7261_6e64_6f6d
    var v2 = key.k0 ^ 0x6c79_6765_6e65_7261
    var v3 = key.k1 ^ 0x7465_6462_7974_6573
    let whole = count & ~7
    var i = 0
    while i < whole {
        let m = UInt64(littleEndian: data.loadUnaligned(fromByteOffset: i, as: UInt64.self))
        v3 ^= m
        sipRound(&v0, &v1, &v2, &v3)
        sipRound(&v0, &v1, &v2, &v3)
        v0 ^= m
        i += 8
    }
    // The last block: the remaining bytes, and the length's low byte on top.
    var b = UInt64(truncatingIfNeeded: count) << 56
    var shift: UInt64 = 0
    while i < count {
        b |= UInt64(data.load(fromByteOffset: i, as: UInt8.self)) << shift
        shift += 8
        i += 1
    }
    v3 ^= b
    sipRound(&v0, &v1, &v2, &v3)
    sipRound(&v0, &v1, &v2, &v3)
    v0 ^= b
    v2 ^= 0xff
    for _ in 0..<4 { sipRound(&v0, &v1, &v2, &v3) }
    return v0 ^ v1 ^ v2 ^ v3
}

/// On a transport whose datagrams anyone may read and send (udp-multicast), the first 8 bytes of a
/// datagram's header are not the trial's key but a MAC: SipHash-2-4, under the trial's MAC key, of
/// the rest of the header (the sequence number, and pubsub's publisher, topic and send time). The
/// key never leaves the workers' memory, so a stranger who reads every datagram can neither forge
/// one nor change its number.
@inline(__always)
package func sealDatagramHeader(_ buffer: UnsafeMutableRawPointer, headerBytes: Int, _ key: SipHashKey) {
    let mac = sipHash24(key, buffer + 8, headerBytes - 8)
    buffer.storeBytes(of: mac.littleEndian, toByteOffset: 0, as: UInt64.self)
}

/// True when a datagram of `count` bytes holds a whole header whose MAC is right.
@inline(__always)
package func hasValidSeal(_ buffer: UnsafeRawPointer, _ count: Int, headerBytes: Int, _ key: SipHashKey) -> Bool {
    if count < headerBytes { return false }
    let mac = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
    return mac == sipHash24(key, buffer + 8, headerBytes - 8)
}
