/// Tags of Offload's compact binary Codable format (see ``BinaryEncoder``).
///
/// Every value starts with a one-byte tag. Integers are LEB128 varints (signed ones zig-zag encoded), floating-point
/// numbers are their little-endian IEEE bit patterns, strings are a varint length plus UTF-8. Keyed containers are
/// `0x09 (key value)* 0x0E`, where each key is a varint of `(utf8Length << 1) | 1` (always odd, so it can never be
/// mistaken for the even end tag) followed by its UTF-8 bytes; unkeyed containers are `0x0A value* 0x0E`.
/// Keys are kept (unlike a purely positional format) so that dictionaries, `encodeIfPresent` and reordered fields
/// decode correctly; the decoder looks keys up in a table built by one scan of the container.
///
/// Plain-data values (``BinaryFixedLayout``) are copied as their bytes, after a fingerprint of their type's layout:
/// `0x0B` for one value, `0x0C` for an array, `0x0D` for the next value of a run in an array (format version 3: the
/// outputs of a batch). Format version 1 had none of them; every older encoding is still a valid encoding of the same
/// value in the newer versions, and an older decoder rejects the new tags as unknown.
package enum BinaryTag {
    package static let null: UInt8 = 0x00
    package static let `false`: UInt8 = 0x01
    package static let `true`: UInt8 = 0x02
    package static let signed: UInt8 = 0x03
    package static let unsigned: UInt8 = 0x04
    package static let float: UInt8 = 0x05
    package static let double: UInt8 = 0x06
    package static let string: UInt8 = 0x07
    /// `[UInt8]` as a varint length plus the raw bytes (instead of one tagged integer per byte).
    package static let bytes: UInt8 = 0x08
    package static let keyed: UInt8 = 0x09
    package static let unkeyed: UInt8 = 0x0A
    /// A plain-data value as its bytes: fingerprint (``FixedLayoutFingerprint``), then `MemoryLayout.size` bytes.
    /// Written since format version 2.
    package static let fixed: UInt8 = 0x0B
    /// An array of plain-data elements as their bytes: fingerprint, varint count, then `count × stride` bytes.
    /// Written since format version 2 (for `[Int]`, `[Double]` and the other standard numbers, and for arrays of
    /// plain-data structs).
    package static let fixedArray: UInt8 = 0x0C
    /// A plain-data value inside an array, with the fingerprint of the `fixed` value before it: `0x0D` then
    /// `MemoryLayout.size` bytes. The outputs of a batch are one `fixed` value followed by a run of these, so a worker
    /// writes one byte of framing per output and the receiver copies the run without a type check per item. Written
    /// since format version 3, only as an element of an unkeyed container after a `fixed` value of the same type.
    package static let fixedRepeat: UInt8 = 0x0D
    package static let end: UInt8 = 0x0E

    /// Deepest nesting the decoder accepts (guards the stack against hostile input).
    package static let maxDepth = 256
}

extension Array where Element == UInt8 {
    @inline(__always)
    mutating func appendVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        append(UInt8(value))
    }

    @inline(__always)
    package mutating func appendLittleEndian(_ value: UInt64, bytes count: Int) {
        for index in 0..<count { append(UInt8(truncatingIfNeeded: value >> UInt64(8 * index))) }
    }
}
