@testable import CaduceusCMS
import Crypto
import CryptoExtras
import Foundation
import Testing

@Suite("Chunked AES-GCM / AES-CBC equal swift-crypto's one-shot functions")
struct ChunkedAESTests {
    static let sizes = [0, 1, 15, 16, 17, 4095, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, (1 << 20) + 16, 3 * (1 << 20) + 5]

    func random(_ count: Int) -> [UInt8] {
        var rng = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    @Test(arguments: sizes)
    func gcmMatchesOneShot(size: Int) throws {
        let plaintext = random(size)
        for bits in [SymmetricKeySize.bits128, .bits256] {
            let key = SymmetricKey(size: bits)
            let nonce = random(12)
            let (ciphertext, tag) = try ChunkedAES.gcmSeal(plaintext[...], key: key, nonce: nonce)
            let reference = try AES.GCM.seal(plaintext, using: key, nonce: AES.GCM.Nonce(data: nonce))
            #expect(ciphertext == Array(reference.ciphertext))
            #expect(tag == Array(reference.tag))
            #expect(try ChunkedAES.gcmOpen(ciphertext[...], tag: tag[...], key: key, nonce: nonce) == plaintext)
            var badTag = tag
            badTag[0] ^= 1
            #expect(throws: CMSError.decryptionFailed) { try ChunkedAES.gcmOpen(ciphertext[...], tag: badTag[...], key: key, nonce: nonce) }
            if !ciphertext.isEmpty {
                var badBody = ciphertext
                badBody[badBody.count / 2] ^= 1
                #expect(throws: CMSError.decryptionFailed) { try ChunkedAES.gcmOpen(badBody[...], tag: tag[...], key: key, nonce: nonce) }
            }
        }
    }

    @Test(arguments: sizes)
    func cbcMatchesOneShot(size: Int) throws {
        let plaintext = random(size)
        let key = SymmetricKey(size: .bits256)
        let iv = random(16)
        let ciphertext = try ChunkedAES.cbcEncrypt(plaintext[...], key: key, iv: iv)
        #expect(ciphertext == Array(try AES._CBC.encrypt(plaintext, using: key, iv: AES._CBC.IV(ivBytes: iv))))
        #expect(try ChunkedAES.cbcDecrypt(ciphertext[...], key: key, iv: iv) == plaintext)
    }

    @Test func gfMultiplyKnownAnswer() {
        // SP 800-38D test case 2: H = 66e94bd4ef8a2c3b884cfa59ca342b2e; GHASH(H, {}, C = 0388dace60b6a392f328c2b971b2fe78)
        // = (C · H) ⊕ L) · H = f38cbb1ad69223dcc3457ae5b6b0f885.
        let h = hex("66e94bd4ef8a2c3b884cfa59ca342b2e")
        let c = hex("0388dace60b6a392f328c2b971b2fe78")
        let x1 = ChunkedAES.gfMultiply(c, h)
        let length = ChunkedAES.bigEndian(0) + ChunkedAES.bigEndian(128)
        let ghash = ChunkedAES.gfMultiply(zip(x1, length).map { $0 ^ $1 }, h)
        #expect(ghash == hex("f38cbb1ad69223dcc3457ae5b6b0f885"))
    }

    func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = s.startIndex
        while i < s.endIndex {
            let j = s.index(i, offsetBy: 2)
            out.append(UInt8(s[i..<j], radix: 16)!)
            i = j
        }
        return out
    }
}
