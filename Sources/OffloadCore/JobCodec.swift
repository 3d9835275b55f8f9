/// The one place that chooses how jobs and their outputs are encoded for transport.
///
/// Process pools use it for every job, batch and result; executors that send jobs elsewhere (a database queue, a
/// socket to another machine) can reuse it, because it depends on nothing but `Codable`: no pipes, no processes.
///
/// The encoding is Offload's compact binary Codable format (``BinaryEncoder``), chosen by measurement over
/// `JSONEncoder`/`JSONDecoder` (re-measure with `offload bench-processes`). Types must encode and decode symmetrically, as synthesized conformances do.
public enum JobCodec {
    /// The version of the encoding, sent in each worker's hello so that a parent and worker built from different
    /// Offload versions refuse to talk instead of misreading each other.
    public static let formatVersion = 1

    /// Encodes a job, a batch of jobs or an output.
    /// - Parameter value: what to encode.
    /// - Returns: the encoded bytes.
    /// - Throws: ``OffloadError/Code/encodingFailed`` naming the type and the `EncodingError`.
    public static func encode<T: Encodable>(_ value: T) throws(OffloadError) -> [UInt8] {
        do {
            return try BinaryEncoder().encode(value)
        } catch {
            throw OffloadError(
                .encodingFailed,
                "could not encode \(String(reflecting: T.self)): \(error)",
                cause: error
            )
        }
    }

    /// Decodes a value encoded by ``encode(_:)``.
    /// - Parameters:
    ///   - type: the type to decode.
    ///   - bytes: the encoded bytes.
    /// - Returns: the decoded value.
    /// - Throws: ``OffloadError/Code/decodingFailed`` naming the type and the `DecodingError`.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws(OffloadError) -> T {
        do {
            return try BinaryDecoder().decode(type, from: bytes)
        } catch {
            throw OffloadError(
                .decodingFailed,
                "could not decode \(String(reflecting: T.self)): \(error)",
                cause: error
            )
        }
    }
}
