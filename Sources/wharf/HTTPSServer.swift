import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL

/// HTTPS for the API (WHARF_TLS_CERT, WHARF_TLS_KEY): TLS 1.2 or later, the certificate chain and key from PEM files.
enum HTTPSServer {
    struct Failed: Error, CustomStringConvertible { var description: String }

    static func builder(certificate: String, key: String) throws -> HTTPServerBuilder {
        let chain: [NIOSSLCertificate]
        let privateKey: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificate)
        } catch {
            throw Failed(description: "WHARF_TLS_CERT \(certificate): not a readable PEM certificate chain (\(error))")
        }
        guard !chain.isEmpty else { throw Failed(description: "WHARF_TLS_CERT \(certificate) holds no certificate") }
        do {
            privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
        } catch {
            throw Failed(description: "WHARF_TLS_KEY \(key): not a readable PEM private key (\(error))")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        configuration.minimumTLSVersion = .tlsv12
        return try .tls(.http1(), tlsConfiguration: configuration)
    }
}
