import Synchronization

/// What identifies a fixed-layout type on the wire: its size, stride and alignment and a hash of its qualified name.
///
/// Values of plain-data types (trivially copyable, see ``BinaryFixedLayout``) travel as their bytes. The bytes mean
/// the same thing in the receiver only if it has the same type with the same layout, so every fixed-layout value or
/// array carries this fingerprint, and the decoder compares it with its own type's before copying: a parent and a
/// worker built from different versions of a type fail with a `DecodingError` instead of reading garbage.
package struct FixedLayoutFingerprint: Hashable, Sendable {
    package var size: UInt32
    package var stride: UInt32
    package var alignment: UInt8
    /// FNV-1a (64 bits) of `_typeName(T.self, qualified: true)`.
    package var nameHash: UInt64

    /// Bytes written: size and stride (UInt32 each), alignment (UInt8), name hash (UInt64), little-endian.
    package static let encodedCount = 17

    package init<T>(of type: T.Type) {
        size = UInt32(truncatingIfNeeded: MemoryLayout<T>.size)
        stride = UInt32(truncatingIfNeeded: MemoryLayout<T>.stride)
        alignment = UInt8(truncatingIfNeeded: MemoryLayout<T>.alignment)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in _typeName(T.self, qualified: true).utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        nameHash = hash
    }

    package init(size: UInt32, stride: UInt32, alignment: UInt8, nameHash: UInt64) {
        self.size = size
        self.stride = stride
        self.alignment = alignment
        self.nameHash = nameHash
    }

    func append(to bytes: inout [UInt8]) {
        bytes.appendLittleEndian(UInt64(size), bytes: 4)
        bytes.appendLittleEndian(UInt64(stride), bytes: 4)
        bytes.append(alignment)
        bytes.appendLittleEndian(nameHash, bytes: 8)
    }
}

/// Opts a type out of the fixed-layout fast path of Offload's codec: its values always travel through its `Codable`
/// implementation, even when it is plain data.
///
/// Offload copies the bytes of a plain-data value (a trivially copyable type such as a struct of numbers, and arrays
/// of such values) instead of calling its `encode(to:)` and `init(from:)`, when a round trip of the first value sent
/// through `Codable` reproduces it bit for bit. Conform a type whose `Codable` conformance does more than copy its
/// stored properties — it normalises, validates against the receiving process, or leaves fields out on purpose — so
/// that the receiver sees what `init(from:)` makes of it.
///
/// ```swift
/// struct Reading: Job, CodableEncodingRequired { ... }
/// ```
public protocol CodableEncodingRequired {}

/// The codec's choice for one type, made once per type and remembered.
package enum FixedLayoutDecision: Sendable {
    /// Encode through `Codable`.
    case general
    /// Copy the value's bytes, after this fingerprint.
    case fixed(FixedLayoutFingerprint)
    /// An array: its elements decide (``BinaryArrayCoding``).
    case array(any BinaryArrayCoding.Type)
}

/// The fingerprints of the standard numbers, computed once.
enum ScalarFingerprint {
    static let int = FixedLayoutFingerprint(of: Int.self)
    static let double = FixedLayoutFingerprint(of: Double.self)
    static let uint64 = FixedLayoutFingerprint(of: UInt64.self)
    static let int64 = FixedLayoutFingerprint(of: Int64.self)
    static let float = FixedLayoutFingerprint(of: Float.self)
    static let int32 = FixedLayoutFingerprint(of: Int32.self)
    static let uint32 = FixedLayoutFingerprint(of: UInt32.self)
    static let bool = FixedLayoutFingerprint(of: Bool.self)
}

/// The fixed-layout fast path of the binary codec: which types may travel as their bytes, and how.
///
/// A type qualifies when it is trivially copyable (`_isPOD`: no references, no reference counts — what
/// `BitwiseCopyable` promises), is not opted out with ``CodableEncodingRequired``, and a `Codable` round trip of the
/// first value sent reproduces its bytes exactly (which a synthesized conformance of a struct of numbers does, and a
/// conformance that drops, normalises or recomputes fields does not). The standard integer and floating-point types
/// and `Bool` qualify without the probe. The decision is the sender's: the decoder accepts either encoding for any
/// type, so both sides need not agree on anything but the fingerprint.
package enum BinaryFixedLayout {
    private static let decisions = Mutex<[ObjectIdentifier: FixedLayoutDecision]>([:])
    private static let fingerprints = Mutex<[ObjectIdentifier: FixedLayoutFingerprint]>([:])
    private static let owner = MutexOwner()

    /// The fingerprint of `T` (computed once per type: the type name is a string to hash).
    package static func fingerprint<T>(of type: T.Type) -> FixedLayoutFingerprint {
        // The standard numbers' fingerprints are constants: no lock for `[Double]` or `[Int]`.
        if T.self == Double.self { return ScalarFingerprint.double }
        if T.self == Int.self { return ScalarFingerprint.int }
        if T.self == Bool.self { return ScalarFingerprint.bool }
        if T.self == UInt64.self { return ScalarFingerprint.uint64 }
        let key = ObjectIdentifier(T.self)
        if let known = fingerprints.withLock(owner, { $0[key] }) { return known }
        let computed = FixedLayoutFingerprint(of: T.self)
        fingerprints.withLock(owner) { $0[key] = computed }
        return computed
    }

    /// Whether values of `T` are sent as their bytes; `sample` is a value to probe the `Codable` round trip with.
    package static func decision<T: Encodable>(for type: T.Type, sample: T) -> FixedLayoutDecision {
        let key = ObjectIdentifier(T.self)
        if let known = decisions.withLock(owner, { $0[key] }) { return known }
        let decided = decide(T.self, sample: sample)
        decisions.withLock(owner) { $0[key] = decided }
        return decided
    }

    /// Whether `T` can be copied as bytes at all (the decoder's check, before it compares fingerprints).
    @inline(__always)
    package static func isPlainData<T>(_ type: T.Type) -> Bool {
        _isPOD(T.self) && MemoryLayout<T>.size > 0
    }

    /// How a decoder reads `T` when it is an array (`nil` for any other type); remembered per type.
    package static func arrayCoding<T>(_ type: T.Type) -> (any BinaryArrayCoding.Type)? {
        let key = ObjectIdentifier(T.self)
        if let known = arrayTypes.withLock(owner, { $0[key] }) { return known.type }
        let found = T.self as? any BinaryArrayCoding.Type
        arrayTypes.withLock(owner) { $0[key] = ArrayType(type: found) }
        return found
    }

    private struct ArrayType: Sendable {
        let type: (any BinaryArrayCoding.Type)?
    }
    private static let arrayTypes = Mutex<[ObjectIdentifier: ArrayType]>([:])

    private static func decide<T: Encodable>(_ type: T.Type, sample: T) -> FixedLayoutDecision {
        if let arrayType = T.self as? any BinaryArrayCoding.Type { return .array(arrayType) }
        guard isPlainData(T.self), !(T.self is any CodableEncodingRequired.Type) else { return .general }
        if isStandardScalar(T.self) { return .fixed(fingerprint(of: T.self)) }
        guard let decodable = T.self as? any Decodable.Type else { return .general }
        return roundTripsExactly(sample, as: decodable) ? .fixed(fingerprint(of: T.self)) : .general
    }

    /// Encodes `sample` through `Codable`, decodes it back and compares the bytes of the two values.
    private static func roundTripsExactly<T: Encodable, D: Decodable>(_ sample: T, as decodable: D.Type) -> Bool {
        guard D.self == T.self else { return false }
        let state = BinaryEncodingState()
        guard (try? state.encodeValue(sample)) != nil else { return false }
        guard let decoded = try? BinaryReader(bytes: state.bytes).decodeValue(D.self, at: 0, depth: 0) else {
            return false
        }
        let copy = same(decoded, T.self)
        return withUnsafeBytes(of: sample) { original in
            withUnsafeBytes(of: copy) { roundTripped in
                original.elementsEqual(roundTripped)
            }
        }
    }

    /// The standard library's fixed-width numbers and `Bool`: their bytes are their value, no probe needed.
    @inline(__always)
    package static func isStandardScalar<T>(_ type: T.Type) -> Bool {
        T.self == Int.self || T.self == Double.self || T.self == UInt64.self || T.self == Int64.self
            || T.self == UInt8.self || T.self == Int32.self || T.self == UInt32.self || T.self == Float.self
            || T.self == UInt.self || T.self == Int16.self || T.self == UInt16.self || T.self == Int8.self
            || T.self == Bool.self
    }
}

/// Arrays, as the codec sees them: a way to reach the element type of a generic `T` that is an array, so that an
/// array of plain data is copied in one piece and any other array is encoded without a container per call.
package protocol BinaryArrayCoding: SendableMetatype {
    /// Encodes the array: one copy of its elements' bytes when they are plain data, else element by element.
    func encodeBinary(into state: BinaryEncodingState) throws
    /// Decodes an array written by ``encodeBinary(into:)`` (or by the generic `Codable` path) at `position`.
    static func decodeBinary(from reader: BinaryReader, at position: Int, depth: Int) throws -> Self
}

extension Array: BinaryArrayCoding where Element: Codable {
    package func encodeBinary(into state: BinaryEncodingState) throws {
        if let first, case .fixed(let fingerprint) = BinaryFixedLayout.decision(for: Element.self, sample: first) {
            state.writeFixedArray(self, fingerprint)
            return
        }
        state.bytes.append(BinaryTag.unkeyed)
        for element in self { try state.encodeValue(element) }
        state.bytes.append(BinaryTag.end)
    }

    package static func decodeBinary(from reader: BinaryReader, at position: Int, depth: Int) throws -> [Element] {
        switch try reader.byte(at: position) {
        case BinaryTag.fixedArray:
            return try reader.fixedArray(Element.self, at: position)
        case BinaryTag.unkeyed:
            guard depth < BinaryTag.maxDepth else { throw BinaryReader.corrupted("nesting too deep") }
            var values: [Element] = []
            var cursor = position + 1
            // The outputs of a batch of plain-data values arrive as one `fixed` value per item: the expected
            // fingerprint is looked up once for the array, not once per item.
            var expected: FixedLayoutFingerprint?
            // Numbers and strings (a batch's standard outputs) are read in one pass, without skipping them first.
            let primitive = BinaryFixedLayout.isStandardScalar(Element.self) || Element.self == String.self
            while case let tag = try reader.byte(at: cursor), tag != BinaryTag.end {
                if tag == BinaryTag.fixed {
                    // One plain-data value, and the run of values sharing its fingerprint (a batch's outputs).
                    if expected == nil { expected = BinaryFixedLayout.fingerprint(of: Element.self) }
                    cursor = try reader.fixedRun(Element.self, at: cursor, expected: expected, into: &values)
                    continue
                }
                if primitive {
                    var next = cursor
                    if let value = try reader.decodePrimitive(Element.self, at: &next) {
                        values.append(value)
                        cursor = next
                        continue
                    }
                }
                let next = try reader.skip(at: cursor, depth: depth + 1)
                values.append(try reader.decodeValue(Element.self, at: cursor, depth: depth + 1))
                cursor = next
            }
            return values
        default:
            throw BinaryReader.corrupted("expected an array at offset \(position)")
        }
    }
}

extension BinaryEncodingState {
    /// `0x0B fingerprint bytes`: one plain-data value.
    func writeFixed<T>(_ value: T, _ fingerprint: FixedLayoutFingerprint) {
        bytes.append(BinaryTag.fixed)
        fingerprint.append(to: &bytes)
        withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) }
    }

    /// `0x0C fingerprint count(varint) bytes`: `count × stride` bytes of plain-data elements.
    func writeFixedArray<E>(_ values: [E], _ fingerprint: FixedLayoutFingerprint) {
        bytes.append(BinaryTag.fixedArray)
        fingerprint.append(to: &bytes)
        bytes.appendVarint(UInt64(values.count))
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }
}

extension BinaryReader {
    /// Reads and checks a fingerprint at `position` against `T`'s; returns the position after it.
    func checkFingerprint<T>(
        _ type: T.Type,
        at position: Int,
        expected known: FixedLayoutFingerprint? = nil
    ) throws -> Int {
        let end = position + FixedLayoutFingerprint.encodedCount
        guard end <= bytes.count else { throw Self.corrupted("unexpected end of data") }
        guard BinaryFixedLayout.isPlainData(T.self) else {
            throw Self.corrupted("plain-data bytes at offset \(position) cannot be read as \(T.self), which is not")
        }
        let found = bytes.withUnsafeBytes { raw in
            FixedLayoutFingerprint(
                size: raw.loadUnaligned(fromByteOffset: position, as: UInt32.self).littleEndian,
                stride: raw.loadUnaligned(fromByteOffset: position + 4, as: UInt32.self).littleEndian,
                alignment: raw[position + 8],
                nameHash: raw.loadUnaligned(fromByteOffset: position + 9, as: UInt64.self).littleEndian
            )
        }
        let expected = known ?? BinaryFixedLayout.fingerprint(of: T.self)
        guard found == expected else {
            throw Self.corrupted(
                "the sender's \(T.self) has another layout (size \(found.size), stride \(found.stride), alignment "
                    + "\(found.alignment), name hash \(found.nameHash)) than the receiver's (size \(expected.size), "
                    + "stride \(expected.stride), alignment \(expected.alignment), name hash \(expected.nameHash)): "
                    + "were the two built from different versions?"
            )
        }
        return end
    }

    /// One plain-data value at `position` (tag `fixed`); `end` is set past it.
    func fixedValue<T>(_ type: T.Type, at position: Int, end: inout Int) throws -> T {
        let start = try checkFingerprint(T.self, at: position + 1)
        let size = MemoryLayout<T>.size
        guard size <= bytes.count - start else { throw Self.corrupted("unexpected end of data") }
        end = start + size
        try Self.checkBools(T.self, bytes, start, count: 1)
        return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: start, as: T.self) }
    }

    /// An array of plain-data elements at `position` (tag `fixedArray`).
    func fixedArray<E>(_ type: E.Type, at position: Int) throws -> [E] {
        var cursor = try checkFingerprint(E.self, at: position + 1)
        let count = try varint(at: &cursor)
        let stride = MemoryLayout<E>.stride
        guard count <= UInt64(bytes.count - cursor) / UInt64(stride) else {
            throw Self.corrupted("array of \(count) elements runs past the end of the data")
        }
        let elements = Int(count)
        try Self.checkBools(E.self, bytes, cursor, count: elements)
        let start = cursor
        return [E](unsafeUninitializedCapacity: elements) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(
                    from: UnsafeRawBufferPointer(rebasing: raw[start..<start + elements * stride])
                )
            }
            initialized = elements
        }
    }

    /// A `fixed` value at `position` and the `fixedRepeat` values right after it, appended to `values` in one copy
    /// per value and no type check per value; returns the position after the run. Value `k` of the run starts at
    /// `first + k × (size + 1)`, where `first` is where the `fixed` value's bytes start.
    func fixedRun<E>(
        _ type: E.Type,
        at position: Int,
        expected: FixedLayoutFingerprint?,
        into values: inout [E]
    ) throws -> Int {
        let first = try checkFingerprint(E.self, at: position + 1, expected: expected)
        let size = MemoryLayout<E>.size
        let step = size + 1
        guard size <= bytes.count - first else { throw Self.corrupted("unexpected end of data") }
        let (count, end) = bytes.withUnsafeBufferPointer { raw -> (Int, Int) in
            var count = 1
            var cursor = first + size
            while cursor < raw.count, raw[cursor] == BinaryTag.fixedRepeat, step <= raw.count - cursor {
                cursor += step
                count += 1
            }
            return (count, cursor)
        }
        if E.self == Bool.self {
            for index in 0..<count where bytes[first + index * step] > 1 {
                throw Self.corrupted("byte \(bytes[first + index * step]) at offset \(first + index * step) is not a Bool")
            }
        }
        let run = [E](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                let source = raw.baseAddress! + first
                let target = UnsafeMutableRawPointer(buffer.baseAddress!)
                let stride = MemoryLayout<E>.stride
                for index in 0..<count {
                    (target + index * stride).copyMemory(from: source + index * step, byteCount: size)
                }
            }
            initialized = count
        }
        if values.isEmpty { values = run } else { values.append(contentsOf: run) }
        return end
    }

    /// A `Bool` must be 0 or 1; any other byte would be a value Swift cannot represent.
    private static func checkBools<T>(_ type: T.Type, _ bytes: [UInt8], _ start: Int, count: Int) throws {
        guard T.self == Bool.self else { return }
        for index in start..<start + count where bytes[index] > 1 {
            throw corrupted("byte \(bytes[index]) at offset \(index) is not a Bool")
        }
    }

    /// The position after a `fixed` or `fixedArray` value at `position`.
    func skipFixed(at position: Int, isArray: Bool) throws -> Int {
        let afterFingerprint = position + 1 + FixedLayoutFingerprint.encodedCount
        guard afterFingerprint <= bytes.count else { throw Self.corrupted("unexpected end of data") }
        let (size, stride) = bytes.withUnsafeBytes { raw in
            (
                Int(raw.loadUnaligned(fromByteOffset: position + 1, as: UInt32.self).littleEndian),
                Int(raw.loadUnaligned(fromByteOffset: position + 5, as: UInt32.self).littleEndian)
            )
        }
        var cursor = afterFingerprint
        let length: UInt64
        if isArray {
            let count = try varint(at: &cursor)
            let (product, overflow) = count.multipliedReportingOverflow(by: UInt64(stride))
            guard !overflow else { throw Self.corrupted("array length overflows") }
            length = product
        } else {
            length = UInt64(size)
        }
        guard length <= UInt64(bytes.count - cursor) else { throw Self.corrupted("unexpected end of data") }
        return cursor + Int(length)
    }
}
