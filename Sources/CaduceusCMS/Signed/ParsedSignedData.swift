import SwiftASN1
import X509
import Foundation
import CaduceusPKI

/// A SignedData read from DER or BER (OpenSSL streams indefinite-length BER), with the exact bytes signatures cover.
package struct ParsedSignedData {
    struct SignedAttributes {
        let setEncoding: [UInt8]
        let contentType: ASN1ObjectIdentifier?
        let messageDigest: ArraySlice<UInt8>?
        let signingTime: Date?
    }

    struct SignerInfo {
        let reference: CertificateReference
        let digestAlgorithm: AlgorithmIdentifierValue
        let signedAttributes: SignedAttributes?
        let signatureAlgorithm: AlgorithmIdentifierValue
        let signature: ArraySlice<UInt8>
    }

    let contentType: ASN1ObjectIdentifier
    package let content: ArraySlice<UInt8>?
    let certificates: [Certificate]
    /// Embedded certificates refused for a weak key (RSA under 2048 bits), which swift-certificates cannot parse.
    let weakCertificateCount: Int
    let signerInfos: [SignerInfo]
    /// How many signers the SignedData names.
    package var signerCount: Int { signerInfos.count }

    package init(_ bytes: ArraySlice<UInt8>) throws {
        do {
            let root = try BER.parse(bytes)
            let contentInfo = try root.children()
            guard contentInfo.count == 2 else { throw ASN1Error.invalidASN1Object(reason: "ContentInfo") }
            guard try ASN1ObjectIdentifier(berEncoded: contentInfo[0]) == CMSOID.signedData else {
                throw CMSError(.unsupported, "the message is not a CMS SignedData")
            }
            let fields = try contentInfo[1].explicit(0).children()
            var index = 0
            func next() throws -> ASN1Node {
                guard index < fields.count else { throw ASN1Error.invalidASN1Object(reason: "short SignedData") }
                defer { index += 1 }
                return fields[index]
            }
            _ = try Int(berEncoded: try next())
            _ = try next().children(.set)  // digestAlgorithms: each signer names its own
            let encapsulated = try next().children()
            guard !encapsulated.isEmpty else { throw ASN1Error.invalidASN1Object(reason: "eContentInfo") }
            contentType = try ASN1ObjectIdentifier(berEncoded: encapsulated[0])
            if encapsulated.count > 1 {
                let wrapped = try encapsulated[1].explicit(0)
                content = try wrapped.octets()
            } else {
                content = nil
            }
            var certificates: [Certificate] = []
            var weak = 0
            var node = try next()
            if node.isContext(0) {
                (certificates, weak) = try Self.parseCertificates(node)
                node = try next()
            }
            weakCertificateCount = weak
            if node.isContext(1) { node = try next() }  // CRLs inside the message are not used
            self.certificates = certificates
            signerInfos = try node.children(.set).map(Self.parseSignerInfo)
        } catch let error as CMSError {
            throw error
        } catch {
            throw CMSError(.malformed, "the message is not valid CMS SignedData (malformed or truncated)")
        }
    }

    /// A SignedData read by ``SignedDataStreamReader``: the content was streamed, not kept.
    init(contentType: ASN1ObjectIdentifier, certificates: [Certificate], weakCertificateCount: Int, signerInfos: [SignerInfo]) {
        self.contentType = contentType
        self.content = nil
        self.certificates = certificates
        self.weakCertificateCount = weakCertificateCount
        self.signerInfos = signerInfos
    }

    /// `certificates [0] IMPLICIT CertificateSet`: the X.509 certificates, and how many were refused for a weak key.
    static func parseCertificates(_ node: ASN1Node) throws -> (certificates: [Certificate], weak: Int) {
        var certificates: [Certificate] = []
        var weak = 0
        for certificateNode in try node.anyChildren() where certificateNode.identifier == .sequence {
            // Non-X.509 choices (attribute certificates) are skipped.
            if let certificate = try? Certificate(derEncoded: Array(certificateNode.encodedBytes)) {
                certificates.append(certificate)
            } else if PKIError.unparseableCertificate(certificateNode.encodedBytes).kind == .weakAlgorithm {
                weak += 1
            }
        }
        return (certificates, weak)
    }

    static func parseSignerInfo(_ node: ASN1Node) throws -> SignerInfo {
        let parts = try node.children()
        guard parts.count >= 5 else { throw ASN1Error.invalidASN1Object(reason: "SignerInfo") }
        let reference = try CertificateReference(node: parts[1])
        let digestAlgorithm = try AlgorithmIdentifierValue(berEncoded: parts[2])
        var index = 3
        var attributes: SignedAttributes?
        if parts[index].isContext(0) {
            attributes = try parseAttributes(parts[index])
            index += 1
        }
        guard index + 1 < parts.count else { throw ASN1Error.invalidASN1Object(reason: "SignerInfo") }
        let signatureAlgorithm = try AlgorithmIdentifierValue(berEncoded: parts[index])
        let signature = try parts[index + 1].octets()
        return SignerInfo(
            reference: reference, digestAlgorithm: digestAlgorithm, signedAttributes: attributes,
            signatureAlgorithm: signatureAlgorithm, signature: signature)
    }

    static func parseAttributes(_ node: ASN1Node) throws -> SignedAttributes {
        // The signature covers the DER SET OF encoding: the same bytes with the [0] tag replaced by SET (0x31).
        var setEncoding = Array(node.encodedBytes)
        setEncoding[0] = 0x31
        var contentType: ASN1ObjectIdentifier?
        var messageDigest: ArraySlice<UInt8>?
        var signingTime: Date?
        for attribute in try node.anyChildren() {
            let parts = try attribute.children()
            guard parts.count == 2 else { throw ASN1Error.invalidASN1Object(reason: "Attribute") }
            let type = try ASN1ObjectIdentifier(berEncoded: parts[0])
            let values = try parts[1].children(.set)
            guard values.count == 1 else { throw ASN1Error.invalidASN1Object(reason: "attribute values") }
            switch type {
            case CMSOID.contentTypeAttribute: contentType = try ASN1ObjectIdentifier(berEncoded: values[0])
            case CMSOID.messageDigestAttribute: messageDigest = try values[0].octets()
            case CMSOID.signingTimeAttribute: signingTime = try ASN1Time.parse(values[0])
            default: continue
            }
        }
        return SignedAttributes(
            setEncoding: setEncoding, contentType: contentType, messageDigest: messageDigest, signingTime: signingTime)
    }
}
