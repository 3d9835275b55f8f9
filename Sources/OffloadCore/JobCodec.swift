/// The one place that chooses how jobs and their outputs are encoded for transport.
///
/// Process pools use it for every job, batch and result; executors that send jobs elsewhere (a database queue, a
/// socket to another machine) can reuse it, because it depends on nothing but `Codable`: no pipes, no processes.
///
/// The encoding is Offload's compact binary Codable format (``BinaryEncoder``), chosen by measurement over
/// `JSONEncoder`/`JSONDecoder` (re-measure with `offload bench-processes`). Types must encode and decode symmetrically, as synthesized conformances do.
///
/// Plain data takes a faster path with no opt-in: a value or array of a trivially copyable type (`Int`, `Double`,
/// `[Double]`, a struct of numbers, an array of such structs) is copied as its bytes, preceded by a fingerprint of
/// its type's layout (size, stride, alignment and a hash of its qualified name) that the receiver checks, so a
/// worker built from another version of the type fails with ``OffloadError/Code/decodingFailed`` instead of reading
/// garbage. A struct takes this path only when a `Codable` round trip of the first value sent reproduces it bit for
/// bit; conform it to ``CodableEncodingRequired`` to always use its `Codable` implementation. Both peers must run on
/// the same byte order (every Linux platform Swift supports is little-endian).
public enum JobCodec {
    /// The version of the encoding, sent in each worker's hello so that a parent and worker built from different
    /// Offload versions refuse to talk instead of misreading each other.
    ///
    /// Version 2 copies plain-data values and arrays as their bytes (see ``CodableEncodingRequired``); it reads
    /// everything version 1 wrote. Version 3 writes the outputs of a batch of plain-data values as one fingerprint
    /// followed by each value's bytes with one byte of framing; it reads everything the earlier versions wrote.
    public static let formatVersion = 3

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
