import OffloadCore

/// Where a PostgreSQL server is and how to log in: parsed from a `postgres://` URL.
///
/// ```swift
/// let endpoint = try PostgresEndpoint(url: "postgres://app:secret@db.internal:5432/jobs")
/// ```
///
/// Accepted forms are those of libpq's connection URIs: `postgres://` or `postgresql://`, an optional
/// `user[:password]@`, a host name, IPv4 address or `[IPv6]` address, an optional `:port` (default 5432), an optional
/// `/database`, and the query parameters `host` (a Unix-socket directory, as in `?host=/var/run/postgresql`),
/// `sslmode` (`disable`, the default, `allow` (treated as `disable`), `prefer`, `require`, `verify-ca` or
/// `verify-full`, as libpq defines them) and `sslrootcert` (a PEM file of the certificate authorities to trust).
/// Percent-escapes are decoded in every part.
public struct PostgresEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// How the connection is encrypted and how much of the server's certificate is checked (libpq's `sslmode`).
    public enum TLSMode: String, Sendable, Hashable {
        /// Plain TCP (or a Unix socket).
        case disable
        /// TLS when the server offers it, plain TCP otherwise; the certificate is not checked.
        case prefer
        /// TLS, or no connection; the certificate is not checked unless ``PostgresEndpoint/rootCertificatePath`` is
        /// set (then as ``verifyCA``), as libpq does. Protects against eavesdropping, not against impersonation.
        case require
        /// TLS with a certificate signed by a trusted authority (``PostgresEndpoint/rootCertificatePath``, or the
        /// system's roots); the host name is not checked.
        case verifyCA = "verify-ca"
        /// TLS with a certificate signed by a trusted authority and issued for the host name connected to: the mode
        /// that also protects against impersonation.
        case verifyFull = "verify-full"
    }

    /// The host name or address (for a Unix socket: the socket directory).
    public var host: String
    /// The TCP port (for a Unix socket: the number in the socket file's name, `.s.PGSQL.<port>`).
    public var port: Int
    /// The directory holding the server's Unix socket, when connecting through one instead of TCP.
    public var unixSocketDirectory: String?
    /// The role to log in as.
    public var username: String
    /// The password, if the server asks for one.
    public var password: String?
    /// The database; `nil` means the database named like the user.
    public var database: String?
    /// Whether the connection uses TLS, and what is checked.
    public var tls: TLSMode
    /// A PEM file with the certificate authorities trusted for the server's certificate (libpq's `sslrootcert`);
    /// `nil`: the system's trusted roots.
    public var rootCertificatePath: String?

    /// Creates an endpoint from its parts.
    /// - Parameters:
    ///   - host: the host name or address.
    ///   - port: the TCP port.
    ///   - username: the role to log in as.
    ///   - password: the password, if any.
    ///   - database: the database (`nil`: the database named like the user).
    ///   - unixSocketDirectory: connect through the Unix socket in this directory instead of TCP.
    ///   - tls: whether to use TLS, and what is checked.
    ///   - rootCertificatePath: a PEM file of the certificate authorities to trust (`nil`: the system's roots).
    public init(
        host: String = "localhost",
        port: Int = 5432,
        username: String = "postgres",
        password: String? = nil,
        database: String? = nil,
        unixSocketDirectory: String? = nil,
        tls: TLSMode = .disable,
        rootCertificatePath: String? = nil
    ) {
        self.rootCertificatePath = rootCertificatePath
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.unixSocketDirectory = unixSocketDirectory
        self.tls = tls
    }

    /// Parses a `postgres://user:password@host:port/database?sslmode=…` URL.
    /// - Parameter url: the URL.
    /// - Throws: ``OffloadError/Code/invalidArgument`` naming the part of the URL that is wrong.
    public init(url: String) throws(OffloadError) {
        self = try PostgresURLParser.parse(url)
    }

    /// The server as named in error messages: `host:port` or the socket path (never the password).
    public var serverDescription: String {
        if let unixSocketDirectory { return "\(unixSocketDirectory)/.s.PGSQL.\(port)" }
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The endpoint as a URL with the password masked.
    public var description: String {
        var text = "postgres://\(username)"
        if password != nil { text += ":***" }
        text += "@" + (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
        if let database { text += "/\(database)" }
        var query: [String] = []
        if let unixSocketDirectory { query.append("host=\(unixSocketDirectory)") }
        if tls != .disable { query.append("sslmode=\(tls.rawValue)") }
        if let rootCertificatePath { query.append("sslrootcert=\(rootCertificatePath)") }
        if !query.isEmpty { text += "?" + query.joined(separator: "&") }
        return text
    }
}

/// The URL grammar of ``PostgresEndpoint/init(url:)``: a parser with no I/O.
enum PostgresURLParser {
    static func parse(_ url: String) throws(OffloadError) -> PostgresEndpoint {
        func bad(_ what: String) -> OffloadError {
            OffloadError(.invalidArgument, "invalid PostgreSQL URL '\(masked(url))': \(what)")
        }
        var rest = Substring(url)
        var schemeFound = false
        for scheme in ["postgresql://", "postgres://"] where rest.hasPrefix(scheme) {
            rest = rest.dropFirst(scheme.count)
            schemeFound = true
            break
        }
        guard schemeFound else { throw bad("it must start with postgres:// or postgresql://") }
        var endpoint = PostgresEndpoint()
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                endpoint.username = try decode(credentials[..<colon], bad("the user name has a bad %-escape"))
                endpoint.password = try decode(
                    credentials[credentials.index(after: colon)...],
                    bad("the password has a bad %-escape")
                )
            } else {
                endpoint.username = try decode(credentials, bad("the user name has a bad %-escape"))
            }
            if endpoint.username.isEmpty { throw bad("the user name before '@' is empty") }
        }
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw bad("an IPv6 address is missing its ']'") }
            endpoint.host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else if !after.isEmpty {
                throw bad("unexpected '\(after)' after the IPv6 address")
            }
        } else if let colon = rest.lastIndex(of: ":") {
            endpoint.host = try decode(rest[..<colon], bad("the host has a bad %-escape"))
            portText = rest[rest.index(after: colon)...]
        } else if !rest.isEmpty {
            endpoint.host = try decode(rest, bad("the host has a bad %-escape"))
        }
        if let portText {
            guard let port = Int(portText), (1...65_535).contains(port) else {
                throw bad("the port '\(portText)' is not a number from 1 to 65535")
            }
            endpoint.port = port
        }
        if !path.isEmpty {
            endpoint.database = try decode(path, bad("the database name has a bad %-escape"))
        }
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0])
            let value = try decode(parts.count > 1 ? parts[1] : "", bad("the parameter '\(key)' has a bad %-escape"))
            switch key {
            case "sslmode":
                switch value {
                case "allow": endpoint.tls = .disable
                default:
                    guard let mode = PostgresEndpoint.TLSMode(rawValue: value) else {
                        throw bad("sslmode '\(value)' is not one of disable, allow, prefer, require, verify-ca, verify-full")
                    }
                    endpoint.tls = mode
                }
            case "sslrootcert":
                if value.isEmpty { throw bad("sslrootcert is empty") }
                endpoint.rootCertificatePath = value
            case "host":
                guard value.hasPrefix("/") else { throw bad("the host parameter must be a socket directory") }
                endpoint.unixSocketDirectory = value
            case "user": endpoint.username = value
            case "password": endpoint.password = value
            case "dbname": endpoint.database = value
            case "port":
                guard let port = Int(value), (1...65_535).contains(port) else {
                    throw bad("the port '\(value)' is not a number from 1 to 65535")
                }
                endpoint.port = port
            case "application_name", "connect_timeout": break
            default:
                throw bad("unknown parameter '\(key)' (known: sslmode, sslrootcert, host, user, password, dbname, port)")
            }
        }
        if endpoint.host.isEmpty && endpoint.unixSocketDirectory == nil { throw bad("the host is empty") }
        if endpoint.host.isEmpty { endpoint.host = "localhost" }
        return endpoint
    }

    /// The URL with its password replaced by `***`, for messages.
    static func masked(_ url: String) -> String {
        let utf8 = Array(url.utf8)
        guard let at = url.lastIndex(of: "@"),
            let schemeEnd = (0..<max(0, utf8.count - 2)).first(where: { utf8[$0] == 58 && utf8[$0 + 1] == 47 })
        else { return url }
        let start = url.utf8.index(url.utf8.startIndex, offsetBy: min(utf8.count, schemeEnd + 3))
        guard start <= at else { return url }
        let credentials = url[start..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }

    private static func decode(_ text: Substring, _ error: OffloadError) throws(OffloadError) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    throw error
                }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
