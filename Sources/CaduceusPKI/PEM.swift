public import X509
import SwiftASN1
import Foundation

/// PEM helpers for certificate bundles (RFC 7468).
public enum PEM {
    /// Concatenated `CERTIFICATE` blocks.
    public static func encode(_ certificates: [Certificate]) throws -> String {
        try certificates.map { try $0.serializeAsPEM().pemString + "\n" }.joined()
    }

    /// Every `CERTIFICATE` block in the text, in order; other blocks (keys, CRLs) are skipped.
    public static func certificates(fromPEM text: String) throws -> [Certificate] {
        let documents: [PEMDocument]
        do { documents = try PEMDocument.parseMultiple(pemString: text) } catch {
            throw PKIError(.malformed, "the PEM text could not be decoded")
        }
        return try documents.filter { $0.discriminator == "CERTIFICATE" }.map { document in
            do { return try Certificate(derEncoded: document.derBytes) } catch {
                throw PKIError.unparseableCertificate(document.derBytes[...])
            }
        }
    }

    /// Certificates from a PEM file (or a single DER certificate).
    public static func certificates(fromFile path: String, allowEmpty: Bool = false) throws -> [Certificate] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PKIError(.notFound, "the certificate file cannot be read")
        }
        if let text = String(data: data, encoding: .utf8), text.contains("-----BEGIN") {
            let certificates = try certificates(fromPEM: text)
            if certificates.isEmpty && !allowEmpty {
                throw PKIError(.malformed, "the file holds no certificate")
            }
            return certificates
        }
        if data.isEmpty && allowEmpty { return [] }
        do { return [try Certificate(derEncoded: Array(data))] } catch {
            throw PKIError.unparseableCertificate(Array(data)[...])
        }
    }
}
