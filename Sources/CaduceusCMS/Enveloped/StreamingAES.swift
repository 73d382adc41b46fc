import Crypto
import CryptoExtras

/// AES-GCM over a content that arrives a chunk at a time (NIST SP 800-38D §7), for streamed CMS.
///
/// The body is AES-CTR from inc32(J0), a chunk per call. The tag is E(K, J0) ⊕ GHASH(H, A, C), and GHASH is Horner's
/// rule, so it splits over chunks: with Yⱼ the GHASH of chunk j's blocks alone and mⱼ its block count, the running value
/// Z = X·H (X the GHASH state before the length block) is updated as Z ← Z·H^mⱼ ⊕ Yⱼ·H, and at the end
/// tag = E(K, J0) ⊕ Z ⊕ L·H with L = [len(A)]₆₄‖[len(C)]₆₄. Each Yⱼ·H comes from BoringSSL's GHASH: sealing an empty
/// message with the chunk as additional data yields E(K, J0) ⊕ (Yⱼ ⊕ Lⱼ)·H with Lⱼ = [len(chunk)]₆₄‖0, so
/// Yⱼ·H = that tag ⊕ E(K, J0) ⊕ Lⱼ·H. Two bit-serial multiplications per chunk; the bulk work is BoringSSL's.
/// Every chunk but the last must be a whole number of blocks. Tests check it against swift-crypto's one-shot GCM.
struct GCMStream {
    private let key: SymmetricKey
    private let nonce: [UInt8]
    private let gcmNonce: AES.GCM.Nonce
    private let h: [UInt8]
    private let ek0: [UInt8]
    private var z = [UInt8](repeating: 0, count: 16)
    private var blocksDone: Int = 0
    private var ciphertextLength = 0
    private var finished = false
    /// H^m and Lⱼ·H for the last chunk length seen (every full chunk has the same).
    private var cache: (length: Int, hPower: [UInt8], lengthTimesH: [UInt8])?

    init(key: SymmetricKey, nonce: [UInt8]) throws {
        guard nonce.count == 12 else { throw CMSError.decryptionFailed }
        self.key = key
        self.nonce = nonce
        gcmNonce = try AES.GCM.Nonce(data: nonce)
        h = try ChunkedAES.hashKey(key)
        ek0 = Array(try AES._CTR.encrypt([UInt8](repeating: 0, count: 16), using: key, nonce: AES._CTR.Nonce(nonceBytes: nonce + [0, 0, 0, 1])))
    }

    /// Encrypts one chunk of plaintext.
    mutating func seal(_ plaintext: ArraySlice<UInt8>) throws -> [UInt8] {
        let ciphertext = try ctr(plaintext)
        try absorb(ciphertext[...])
        ciphertextLength += ciphertext.count
        return ciphertext
    }

    /// Decrypts one chunk of ciphertext. The plaintext is not authentic until ``tag()`` matches.
    mutating func open(_ ciphertext: ArraySlice<UInt8>) throws -> [UInt8] {
        try absorb(ciphertext)
        ciphertextLength += ciphertext.count
        return try ctr(ciphertext)
    }

    /// The tag over everything sealed or opened, with `additionalData` (AuthEnvelopedData's authAttrs, which follow
    /// the content in the encoding but come first in GHASH: their share is Y_A·H·H^m(C), m(C) the content's blocks).
    func tag(additionalData: [UInt8] = []) throws -> [UInt8] {
        var total = z
        if !additionalData.isEmpty {
            let (yaH, _) = try chunkHash(additionalData[...], cached: nil)
            let shifted = ChunkedAES.gfMultiply(yaH, Self.power(h, (ciphertextLength + 15) / 16))
            for i in 0..<16 { total[i] ^= shifted[i] }
        }
        let bits = ChunkedAES.bigEndian(UInt64(additionalData.count) * 8) + ChunkedAES.bigEndian(UInt64(ciphertextLength) * 8)
        let lh = ChunkedAES.gfMultiply(bits, h)
        return (0..<16).map { ek0[$0] ^ total[$0] ^ lh[$0] }
    }

    /// Y·H for one chunk's blocks (see the type's comment), and the per-length values used, for caching.
    private func chunkHash(_ chunk: ArraySlice<UInt8>, cached: (length: Int, hPower: [UInt8], lengthTimesH: [UInt8])?) throws
        -> (yH: [UInt8], cache: (length: Int, hPower: [UInt8], lengthTimesH: [UInt8]))
    {
        let box = try AES.GCM.seal([UInt8](), using: key, nonce: gcmNonce, authenticating: chunk)
        var values = cached
        if values?.length != chunk.count {
            let lj = ChunkedAES.bigEndian(UInt64(chunk.count) * 8) + ChunkedAES.bigEndian(0)
            values = (chunk.count, Self.power(h, (chunk.count + 15) / 16), ChunkedAES.gfMultiply(lj, h))
        }
        let tag = Array(box.tag)
        return ((0..<16).map { tag[$0] ^ ek0[$0] ^ values!.lengthTimesH[$0] }, values!)
    }

    private mutating func absorb(_ chunk: ArraySlice<UInt8>) throws {
        guard !chunk.isEmpty else { return }
        precondition(!finished, "only the last chunk may end inside a block")
        if chunk.count % 16 != 0 { finished = true }
        let (yH, values) = try chunkHash(chunk, cached: cache)
        cache = values
        let shifted = ChunkedAES.gfMultiply(z, values.hPower)
        for i in 0..<16 { z[i] = shifted[i] ^ yH[i] }
    }

    private mutating func ctr(_ input: ArraySlice<UInt8>) throws -> [UInt8] {
        guard !input.isEmpty else { return [] }
        // GCM limits a message to 2^32 - 2 blocks: the 32-bit counter starts at 2.
        guard blocksDone + (input.count + 15) / 16 <= Int(UInt32.max) - 2 else { throw CMSError(.unsupported, "the content is too large for AES-GCM") }
        let counter = UInt32(2 + blocksDone)
        blocksDone += (input.count + 15) / 16
        return Array(try AES._CTR.encrypt(input, using: key, nonce: AES._CTR.Nonce(nonceBytes: nonce + ChunkedAES.bigEndian32(counter))))
    }

    /// x^n in GF(2^128), square and multiply.
    static func power(_ x: [UInt8], _ n: Int) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: 16)
        result[0] = 0x80  // the field's 1 in GCM's bit order
        var base = x
        var e = n
        while e > 0 {
            if e & 1 == 1 { result = ChunkedAES.gfMultiply(result, base) }
            e >>= 1
            if e > 0 { base = ChunkedAES.gfMultiply(base, base) }
        }
        return result
    }
}

/// AES-CBC over a content that arrives a chunk at a time: chained chunks with the previous ciphertext block as IV,
/// PKCS#7 padding on the last (RFC 5652 §6.3). Every chunk but the last must be a whole number of blocks.
struct CBCStream {
    private let key: SymmetricKey
    private var chainIV: [UInt8]

    init(key: SymmetricKey, iv: [UInt8]) throws {
        guard iv.count == 16 else { throw CMSError.decryptionFailed }
        self.key = key
        chainIV = iv
    }

    mutating func encrypt(_ plaintext: ArraySlice<UInt8>, last: Bool) throws -> [UInt8] {
        precondition(last || plaintext.count % 16 == 0)
        let out = Array(try AES._CBC.encrypt(plaintext, using: key, iv: AES._CBC.IV(ivBytes: chainIV), noPadding: !last))
        if let tail = out.last16 { chainIV = tail }
        return out
    }

    mutating func decrypt(_ ciphertext: ArraySlice<UInt8>, last: Bool) throws -> [UInt8] {
        guard ciphertext.count % 16 == 0, !(last && ciphertext.isEmpty) else { throw CMSError.decryptionFailed }
        guard !ciphertext.isEmpty else { return [] }
        let out = Array(try AES._CBC.decrypt(ciphertext, using: key, iv: AES._CBC.IV(ivBytes: chainIV), noPadding: !last))
        chainIV = Array(ciphertext.suffix(16))
        return out
    }
}

extension Array where Element == UInt8 {
    fileprivate var last16: [UInt8]? { count >= 16 ? Array(suffix(16)) : nil }
}
