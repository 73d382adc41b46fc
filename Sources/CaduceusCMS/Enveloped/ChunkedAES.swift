import CaduceusPKI
import Crypto
import CryptoExtras
import Foundation

/// AES-GCM and AES-CBC over large contents without the cipher's transient copies.
///
/// swift-crypto's one-shot `AES.GCM.seal/open` build a combined nonce‖ciphertext‖tag buffer, and `AES._CBC` allocates
/// and copies its output, so a 50 MB document briefly costs three or four times its size. Here the ciphertext or
/// plaintext is written, 1 MiB at a time, into one buffer we own:
/// - GCM (NIST SP 800-38D §7): the body is AES-CTR from counter block J0+1; the tag is E(K, J0) ⊕ GHASH(H, A, C).
///   BoringSSL computes it for us by sealing an empty message with C as additional data, which hashes the same
///   blocks under the length block [len(C)]‖[0] instead of [0]‖[len(C)]; GHASH's last step is X ⊕ L multiplied by H,
///   so the true tag is that tag ⊕ ((L ⊕ L′)·H), with H = E(K, 0¹²⁸). Only for A empty (CMS authAttrs absent).
/// - CBC: chained 1 MiB chunks with the previous ciphertext block as IV, PKCS#7 padding on the last.
/// Tests check both against swift-crypto's one-shot functions and against OpenSSL.
enum ChunkedAES {
    static let chunkSize = 1 << 20  // a multiple of the AES block size

    // MARK: GCM

    static func gcmSeal(_ plaintext: ArraySlice<UInt8>, key: SymmetricKey, nonce: [UInt8]) throws -> (ciphertext: [UInt8], tag: [UInt8]) {
        let ciphertext = try ctr(plaintext, key: key, nonce: nonce)
        return (ciphertext, try gcmTag(ciphertext[...], key: key, nonce: nonce))
    }

    /// Verifies the tag first (constant-time), then decrypts.
    static func gcmOpen(_ ciphertext: ArraySlice<UInt8>, tag: ArraySlice<UInt8>, key: SymmetricKey, nonce: [UInt8]) throws -> [UInt8] {
        let expected = try gcmTag(ciphertext, key: key, nonce: nonce)
        guard constantTimeEqual(expected, tag) else { throw CMSError.decryptionFailed }
        return try ctr(ciphertext, key: key, nonce: nonce)
    }

    static func gcmTag(_ ciphertext: ArraySlice<UInt8>, key: SymmetricKey, nonce: [UInt8]) throws -> [UInt8] {
        let box = try AES.GCM.seal([UInt8](), using: key, nonce: try AES.GCM.Nonce(data: nonce), authenticating: ciphertext)
        let bits = UInt64(ciphertext.count) * 8
        // L ⊕ L′ = [bits]‖[bits] (one half from each length block).
        let lengthDifference = bigEndian(bits) + bigEndian(bits)
        let h = try hashKey(key)
        let correction = gfMultiply(lengthDifference, h)
        return zip(Array(box.tag), correction).map { $0 ^ $1 }
    }

    static func hashKey(_ key: SymmetricKey) throws -> [UInt8] {
        Array(try AES._CBC.encrypt([UInt8](repeating: 0, count: 16), using: key, iv: AES._CBC.IV(ivBytes: [UInt8](repeating: 0, count: 16)), noPadding: true))
    }

    /// AES-CTR with GCM's counter: J0 = nonce‖0³¹1; the body starts at inc32(J0).
    static func ctr(_ input: ArraySlice<UInt8>, key: SymmetricKey, nonce: [UInt8]) throws -> [UInt8] {
        guard nonce.count == 12 else { throw CMSError.decryptionFailed }
        var failure: (any Error)?
        let output = [UInt8](unsafeUninitializedCapacity: input.count) { buffer, count in
            var offset = 0
            while offset < input.count {
                let end = min(offset + chunkSize, input.count)
                let counter = UInt32(2 + offset / 16)  // GCM limits a message to 2^32 - 2 blocks
                do {
                    let chunk = try AES._CTR.encrypt(
                        input[(input.startIndex + offset)..<(input.startIndex + end)], using: key,
                        nonce: AES._CTR.Nonce(nonceBytes: nonce + bigEndian32(counter)))
                    chunk.withUnsafeBytes { raw in
                        UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(buffer)[offset..<end]).copyMemory(from: raw)
                    }
                } catch {
                    failure = error
                    break
                }
                offset = end
            }
            count = failure == nil ? input.count : 0
        }
        if let failure { throw failure }
        return output
    }

    // MARK: CBC

    static func cbcEncrypt(_ plaintext: ArraySlice<UInt8>, key: SymmetricKey, iv: [UInt8]) throws -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(plaintext.count + 16)
        var chainIV = iv
        var offset = 0
        // Whole chunks without padding, then the tail (shorter than a chunk, possibly empty) with PKCS#7 padding.
        while plaintext.count - offset > chunkSize {
            let range = (plaintext.startIndex + offset)..<(plaintext.startIndex + offset + chunkSize)
            let chunk = try AES._CBC.encrypt(plaintext[range], using: key, iv: AES._CBC.IV(ivBytes: chainIV), noPadding: true)
            output.append(contentsOf: chunk)
            chainIV = Array(output.suffix(16))
            offset += chunkSize
        }
        output.append(contentsOf: try AES._CBC.encrypt(plaintext[(plaintext.startIndex + offset)...], using: key, iv: AES._CBC.IV(ivBytes: chainIV)))
        return output
    }

    static func cbcDecrypt(_ ciphertext: ArraySlice<UInt8>, key: SymmetricKey, iv: [UInt8]) throws -> [UInt8] {
        guard ciphertext.count % 16 == 0, ciphertext.count >= 16 else { throw CMSError.decryptionFailed }
        var output: [UInt8] = []
        output.reserveCapacity(ciphertext.count)
        var chainIV = iv
        var offset = 0
        while ciphertext.count - offset > chunkSize {
            let range = (ciphertext.startIndex + offset)..<(ciphertext.startIndex + offset + chunkSize)
            output.append(contentsOf: try AES._CBC.decrypt(ciphertext[range], using: key, iv: AES._CBC.IV(ivBytes: chainIV), noPadding: true))
            chainIV = Array(ciphertext[range].suffix(16))
            offset += chunkSize
        }
        output.append(contentsOf: try AES._CBC.decrypt(ciphertext[(ciphertext.startIndex + offset)...], using: key, iv: AES._CBC.IV(ivBytes: chainIV)))
        return output
    }

    // MARK: GF(2^128)

    /// X·Y in GCM's field (SP 800-38D §6.3, Algorithm 1), bit-serial: used once per message.
    static func gfMultiply(_ x: [UInt8], _ y: [UInt8]) -> [UInt8] {
        var zHi: UInt64 = 0, zLo: UInt64 = 0
        var vHi = load(y, 0), vLo = load(y, 8)
        let xHi = load(x, 0), xLo = load(x, 8)
        for i in 0..<128 {
            let bit = i < 64 ? (xHi >> (63 - UInt64(i))) & 1 : (xLo >> (127 - UInt64(i))) & 1
            if bit == 1 { zHi ^= vHi; zLo ^= vLo }
            let carry = vLo & 1
            vLo = (vLo >> 1) | (vHi << 63)
            vHi >>= 1
            if carry == 1 { vHi ^= 0xE100_0000_0000_0000 }
        }
        return bigEndian(zHi) + bigEndian(zLo)
    }

    private static func load(_ bytes: [UInt8], _ offset: Int) -> UInt64 {
        (0..<8).reduce(0) { $0 << 8 | UInt64(bytes[offset + $1]) }
    }

    static func bigEndian(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * UInt64($0))) } }
    static func bigEndian32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * UInt32($0))) } }
}
