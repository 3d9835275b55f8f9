import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A failed fetch of `offload hybrid` as the one line the CLI prints: the URL and the cause in words, never
/// Foundation's `NSURLErrorDomain` dump with its nested `userInfo`.
enum FetchFailure {
    /// The error for a fetch of `url` that failed with `error`.
    static func error(fetching url: URL, _ error: any Error) -> HybridError {
        HybridError(description: "GET \(url.absoluteString) failed: \(cause(of: error))")
    }

    /// The cause in words: URLSession's own message when it has one ("Failed to connect to 127.0.0.1 port 1 after
    /// 0 ms: Couldn't connect to server"), else a wording of its error code.
    static func cause(of error: any Error) -> String {
        let nsError = error as NSError
        if let message = nsError.userInfo[NSLocalizedDescriptionKey] as? String, !message.isEmpty {
            return oneLine(message)
        }
        guard nsError.domain == NSURLErrorDomain else { return oneLine(String(describing: error)) }
        switch URLError.Code(rawValue: nsError.code) {
        case .cannotConnectToHost: return "could not connect to the server (nothing is listening there)"
        case .cannotFindHost, .dnsLookupFailed: return "the host name could not be resolved"
        case .timedOut: return "the request timed out"
        case .networkConnectionLost: return "the connection was lost"
        case .notConnectedToInternet: return "there is no network connection"
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate:
            return "the TLS connection could not be established"
        case .badServerResponse: return "the server's response was not valid HTTP"
        case .unsupportedURL: return "the URL is not supported"
        default: return "URLSession error \(nsError.code)"
        }
    }

    private static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
