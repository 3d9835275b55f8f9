/// Decodes values written by ``BinaryEncoder``. Every read is bounds-checked and nesting is limited to
/// ``BinaryTag/maxDepth``, so arbitrary bytes produce a `DecodingError`, never a crash.
package struct BinaryDecoder: Sendable {
    package init() {}

    /// - Returns: the decoded value.
    /// - Throws: `DecodingError` when the bytes are not a valid encoding of `T`.
    package func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        let reader = BinaryReader(bytes: bytes)
        return try reader.decodeTopLevel(T.self)
    }
}

package final class BinaryReader {
    let bytes: [UInt8]

    package init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    package static func corrupted(_ message: String) -> DecodingError {
        DecodingError.dataCorrupted(DecodingError.Context(codingPath: [], debugDescription: message))
    }

    @inline(__always) package func byte(at position: Int) throws -> UInt8 {
        guard position >= 0, position < bytes.count else { throw Self.corrupted("unexpected end of data") }
        return bytes[position]
    }

    func varint(at position: inout Int) throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let next = try byte(at: position)
            position += 1
            guard shift < 64 else { throw Self.corrupted("varint too long") }
            result |= UInt64(next & 0x7F) << shift
            if next & 0x80 == 0 { return result }
            shift += 7
        }
    }

    func length(at position: inout Int) throws -> Int {
        let value = try varint(at: &position)
        guard value <= UInt64(bytes.count - min(position, bytes.count)) else {
            throw Self.corrupted("length \(value) runs past the end of the data")
        }
        return Int(value)
    }

    /// The position after the value starting at `position`.
    package func skip(at position: Int, depth: Int) throws -> Int {
        guard depth < BinaryTag.maxDepth else { throw Self.corrupted("nesting deeper than \(BinaryTag.maxDepth)") }
        var cursor = position + 1
        switch try byte(at: position) {
        case BinaryTag.null, BinaryTag.false, BinaryTag.true: return cursor
        case BinaryTag.signed, BinaryTag.unsigned:
            _ = try varint(at: &cursor)
            return cursor
        case BinaryTag.float: return try checked(cursor + 4)
        case BinaryTag.double: return try checked(cursor + 8)
        case BinaryTag.string, BinaryTag.bytes:
            let count = try length(at: &cursor)
            return cursor + count
        case BinaryTag.fixed: return try skipFixed(at: position, isArray: false)
        case BinaryTag.fixedArray: return try skipFixed(at: position, isArray: true)
        case BinaryTag.fixedRepeat:
            throw Self.corrupted("a repeated plain-data value at offset \(position) follows no plain-data value")
        case BinaryTag.keyed:
            while try byte(at: cursor) != BinaryTag.end {
                cursor = try skipKey(at: cursor)
                cursor = try skip(at: cursor, depth: depth + 1)
            }
            return cursor + 1
        case BinaryTag.unkeyed:
            while try byte(at: cursor) != BinaryTag.end {
                cursor = try skip(at: cursor, depth: depth + 1)
            }
            return cursor + 1
        case let tag:
            throw Self.corrupted("unknown tag \(tag) at offset \(position)")
        }
    }

    private func checked(_ end: Int) throws -> Int {
        guard end <= bytes.count else { throw Self.corrupted("unexpected end of data") }
        return end
    }

    /// Reads a key header at `position`; returns the position after the key bytes.
    func skipKey(at position: Int) throws -> Int {
        let (start, count) = try key(at: position)
        return start + count
    }

    func key(at position: Int) throws -> (start: Int, count: Int) {
        var cursor = position
        let header = try varint(at: &cursor)
        guard header & 1 == 1 else { throw Self.corrupted("malformed key at offset \(position)") }
        let count = header >> 1
        guard count <= UInt64(bytes.count - cursor) else { throw Self.corrupted("key runs past the end of the data") }
        return (cursor, Int(count))
    }

    // MARK: Primitives

    /// Decodes a whole message: arrays element by element without a container per element (or in one copy, for
    /// plain data), anything else as ``decodeValue(_:at:depth:)``.
    func decodeTopLevel<T: Decodable>(_ type: T.Type) throws -> T {
        if !BinaryFixedLayout.isStandardScalar(T.self), let arrayType = BinaryFixedLayout.arrayCoding(T.self) {
            return try decodeArray(arrayType, as: T.self, at: 0, depth: 0)
        }
        return try decodeValue(T.self, at: 0, depth: 0)
    }

    private func decodeArray<A: BinaryArrayCoding, T>(_ arrayType: A.Type, as: T.Type, at position: Int, depth: Int)
        throws -> T
    {
        same(try A.decodeBinary(from: self, at: position, depth: depth), T.self)
    }

    func decodeValue<T: Decodable>(_ type: T.Type, at position: Int, depth: Int) throws -> T {
        var cursor = position
        if let value = try decodePrimitive(type, at: &cursor) { return value }
        let tag = try byte(at: position)
        if tag == BinaryTag.fixedArray {
            if T.self == [Double].self { return same(try fixedArray(Double.self, at: position), T.self) }
            if T.self == [Int].self { return same(try fixedArray(Int.self, at: position), T.self) }
            if T.self == [Bool].self { return same(try fixedArray(Bool.self, at: position), T.self) }
            guard let arrayType = BinaryFixedLayout.arrayCoding(T.self) else {
                throw Self.corrupted("an array of plain data at offset \(position) cannot be read as \(T.self)")
            }
            return try decodeArray(arrayType, as: T.self, at: position, depth: depth)
        }
        if tag == BinaryTag.fixed {
            var end = position
            return try fixedValue(T.self, at: position, end: &end)
        }
        // Format version 1 wrote the numeric arrays as unkeyed containers of tagged values: read without per-element
        // generic dispatch. `T` is exactly the array type just compared, so the casts cannot fail.
        if T.self == [Int].self { return same(try numericArray(at: position) { try self.integer(Int.self, at: &$0) }, T.self) }
        if T.self == [Double].self { return same(try numericArray(at: position) { try self.double(at: &$0) }, T.self) }
        if T.self == [UInt64].self {
            return same(try numericArray(at: position) { try self.integer(UInt64.self, at: &$0) }, T.self)
        }
        if T.self == [UInt8].self, tag == BinaryTag.bytes {
            var cursor = position + 1
            let count = try length(at: &cursor)
            return same(Array(bytes[cursor..<cursor + count]), T.self)
        }
        guard depth < BinaryTag.maxDepth else { throw Self.corrupted("nesting deeper than \(BinaryTag.maxDepth)") }
        return try T(from: BinaryValueDecoder(reader: self, position: position, depth: depth + 1))
    }

    /// An unkeyed container of one numeric type, read without per-element generic dispatch.
    private func numericArray<N>(at position: Int, _ element: (inout Int) throws -> N) throws -> [N] {
        guard try byte(at: position) == BinaryTag.unkeyed else {
            throw Self.corrupted("expected an array at offset \(position)")
        }
        var cursor = position + 1
        var values: [N] = []
        while try byte(at: cursor) != BinaryTag.end {
            values.append(try element(&cursor))
        }
        return values
    }

    /// Decodes `T` directly when it is a primitive type; `nil` otherwise.
    @inline(__always)
    func decodePrimitive<T: Decodable>(_ type: T.Type, at cursor: inout Int) throws -> T? {
        if T.self == Int.self { return same(try integer(Int.self, at: &cursor), T.self) }
        if T.self == String.self { return same(try string(at: &cursor), T.self) }
        if T.self == Double.self { return same(try double(at: &cursor), T.self) }
        if T.self == Bool.self {
            let value = try bool(at: cursor)
            cursor += 1
            return same(value, T.self)
        }
        if T.self == UInt8.self { return same(try integer(UInt8.self, at: &cursor), T.self) }
        if T.self == Int64.self { return same(try integer(Int64.self, at: &cursor), T.self) }
        if T.self == UInt64.self { return same(try integer(UInt64.self, at: &cursor), T.self) }
        if T.self == UInt.self { return same(try integer(UInt.self, at: &cursor), T.self) }
        if T.self == Int32.self { return same(try integer(Int32.self, at: &cursor), T.self) }
        if T.self == UInt32.self { return same(try integer(UInt32.self, at: &cursor), T.self) }
        if T.self == Float.self { return same(try float(at: &cursor), T.self) }
        if T.self == Int16.self { return same(try integer(Int16.self, at: &cursor), T.self) }
        if T.self == UInt16.self { return same(try integer(UInt16.self, at: &cursor), T.self) }
        if T.self == Int8.self { return same(try integer(Int8.self, at: &cursor), T.self) }
        return nil
    }

    func bool(at position: Int) throws -> Bool {
        switch try byte(at: position) {
        case BinaryTag.true: return true
        case BinaryTag.false: return false
        default: throw Self.corrupted("expected a Bool at offset \(position)")
        }
    }

    func integer<I: FixedWidthInteger>(_ type: I.Type, at position: inout Int) throws -> I {
        let tag = try byte(at: position)
        position += 1
        let raw = try varint(at: &position)
        switch tag {
        case BinaryTag.signed:
            let value = Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
            guard let result = I(exactly: value) else { throw Self.corrupted("\(value) does not fit \(I.self)") }
            return result
        case BinaryTag.unsigned:
            guard let result = I(exactly: raw) else { throw Self.corrupted("\(raw) does not fit \(I.self)") }
            return result
        default:
            throw Self.corrupted("expected an integer at offset \(position)")
        }
    }

    func double(at position: inout Int) throws -> Double {
        let tag = try byte(at: position)
        if tag == BinaryTag.float { return Double(try float(at: &position)) }
        guard tag == BinaryTag.double else { throw Self.corrupted("expected a Double at offset \(position)") }
        let end = try checked(position + 9)
        var bits: UInt64 = 0
        for index in 0..<8 { bits |= UInt64(bytes[position + 1 + index]) << UInt64(8 * index) }
        position = end
        return Double(bitPattern: bits)
    }

    func float(at position: inout Int) throws -> Float {
        guard try byte(at: position) == BinaryTag.float else {
            throw Self.corrupted("expected a Float at offset \(position)")
        }
        let end = try checked(position + 5)
        var bits: UInt32 = 0
        for index in 0..<4 { bits |= UInt32(bytes[position + 1 + index]) << UInt32(8 * index) }
        position = end
        return Float(bitPattern: bits)
    }

    func string(at position: inout Int) throws -> String {
        guard try byte(at: position) == BinaryTag.string else {
            throw Self.corrupted("expected a String at offset \(position)")
        }
        position += 1
        let count = try length(at: &position)
        let start = position
        position += count
        return bytes.withUnsafeBufferPointer { String(decoding: $0[start..<start + count], as: UTF8.self) }
    }
}

/// The `Decoder` handed to one value's `init(from:)`.
struct BinaryValueDecoder: Decoder {
    let reader: BinaryReader
    let position: Int
    let depth: Int
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(try BinaryKeyedDecoder<Key>(reader: reader, position: position, depth: depth))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try BinaryUnkeyedDecoder(reader: reader, position: position, depth: depth)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        BinarySingleValueDecoder(reader: reader, position: position, depth: depth)
    }
}

struct BinaryKeyedDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let reader: BinaryReader
    let depth: Int
    /// The position of the first entry (just after the keyed tag). Entries are found by scanning from here: no
    /// table is allocated, which matters because most containers are small structs decoded once.
    let start: Int
    var codingPath: [any CodingKey] { [] }

    init(reader: BinaryReader, position: Int, depth: Int) throws {
        guard try reader.byte(at: position) == BinaryTag.keyed else {
            throw BinaryReader.corrupted("expected a keyed container at offset \(position)")
        }
        guard depth < BinaryTag.maxDepth else { throw BinaryReader.corrupted("nesting too deep") }
        self.reader = reader
        self.depth = depth
        self.start = position + 1
    }

    /// Calls `body(keyStart, keyCount, valuePosition)` for each entry until it returns a value.
    private func scan<R>(_ body: (Int, Int, Int) -> R?) throws -> R? {
        var cursor = start
        while try reader.byte(at: cursor) != BinaryTag.end {
            let (keyStart, keyCount) = try reader.key(at: cursor)
            let value = keyStart + keyCount
            if let found = body(keyStart, keyCount, value) { return found }
            cursor = try reader.skip(at: value, depth: depth)
        }
        return nil
    }

    private func position(of key: Key) -> Int? {
        var name = key.stringValue
        return name.withUTF8 { utf8 -> Int? in
            reader.bytes.withUnsafeBufferPointer { bytes -> Int? in
                try? scan { keyStart, keyCount, value in
                    guard keyCount == utf8.count else { return nil }
                    if keyCount == 0 || memcmpEqual(bytes.baseAddress! + keyStart, utf8.baseAddress!, keyCount) {
                        return value
                    }
                    return nil
                }
            }
        }
    }

    private func require(_ key: Key) throws -> Int {
        guard let position = position(of: key) else {
            throw DecodingError.keyNotFound(
                key,
                DecodingError.Context(codingPath: [], debugDescription: "no value for key '\(key.stringValue)'")
            )
        }
        return position
    }

    var allKeys: [Key] {
        var keys: [Key] = []
        _ = try? scan { keyStart, keyCount, _ -> Bool? in
            let name = String(decoding: reader.bytes[keyStart..<keyStart + keyCount], as: UTF8.self)
            if let key = Key(stringValue: name) { keys.append(key) }
            return nil
        }
        return keys
    }

    func contains(_ key: Key) -> Bool { position(of: key) != nil }

    func decodeNil(forKey key: Key) throws -> Bool {
        try reader.byte(at: try require(key)) == BinaryTag.null
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try reader.decodeValue(type, at: try require(key), depth: depth)
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type,
        forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        KeyedDecodingContainer(
            try BinaryKeyedDecoder<NestedKey>(reader: reader, position: try require(key), depth: depth + 1)
        )
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try BinaryUnkeyedDecoder(reader: reader, position: try require(key), depth: depth + 1)
    }

    func superDecoder() throws -> any Decoder { throw BinaryReader.corrupted("superDecoder is not supported") }
    func superDecoder(forKey key: Key) throws -> any Decoder {
        throw BinaryReader.corrupted("superDecoder is not supported")
    }
}

@inline(__always)
private func memcmpEqual(_ lhs: UnsafePointer<UInt8>, _ rhs: UnsafePointer<UInt8>, _ count: Int) -> Bool {
    for index in 0..<count where lhs[index] != rhs[index] { return false }
    return true
}

/// Three words (the index and the depth share one), so that `any UnkeyedDecodingContainer` holds it inline instead
/// of allocating a box.
struct BinaryUnkeyedDecoder: UnkeyedDecodingContainer {
    let reader: BinaryReader
    var cursor: Int
    private var indexAndDepth: Int
    var codingPath: [any CodingKey] { [] }
    var count: Int? { nil }
    var currentIndex: Int { indexAndDepth >> 16 }
    var depth: Int { indexAndDepth & 0xFFFF }

    init(reader: BinaryReader, position: Int, depth: Int) throws {
        guard try reader.byte(at: position) == BinaryTag.unkeyed else {
            throw BinaryReader.corrupted("expected an unkeyed container at offset \(position)")
        }
        guard depth < BinaryTag.maxDepth else { throw BinaryReader.corrupted("nesting too deep") }
        self.reader = reader
        self.cursor = position + 1
        self.indexAndDepth = depth
    }

    var isAtEnd: Bool {
        (try? reader.byte(at: cursor)).map { $0 == BinaryTag.end } ?? true
    }

    private func checkNotAtEnd() throws {
        if isAtEnd { throw BinaryReader.corrupted("unkeyed container has no more values") }
    }

    mutating func decodeNil() throws -> Bool {
        try checkNotAtEnd()
        guard try reader.byte(at: cursor) == BinaryTag.null else { return false }
        cursor += 1
        indexAndDepth += 1 << 16
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try checkNotAtEnd()
        var primitiveEnd = cursor
        if let value = try reader.decodePrimitive(type, at: &primitiveEnd) {
            cursor = primitiveEnd
            indexAndDepth += 1 << 16
            return value
        }
        let next = try reader.skip(at: cursor, depth: depth)
        let value = try reader.decodeValue(type, at: cursor, depth: depth)
        cursor = next
        indexAndDepth += 1 << 16
        return value
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try checkNotAtEnd()
        let container = try BinaryKeyedDecoder<NestedKey>(reader: reader, position: cursor, depth: depth + 1)
        cursor = try reader.skip(at: cursor, depth: depth)
        indexAndDepth += 1 << 16
        return KeyedDecodingContainer(container)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try checkNotAtEnd()
        let container = try BinaryUnkeyedDecoder(reader: reader, position: cursor, depth: depth + 1)
        cursor = try reader.skip(at: cursor, depth: depth)
        indexAndDepth += 1 << 16
        return container
    }

    mutating func superDecoder() throws -> any Decoder { throw BinaryReader.corrupted("superDecoder is not supported") }
}

struct BinarySingleValueDecoder: SingleValueDecodingContainer {
    let reader: BinaryReader
    let position: Int
    let depth: Int
    var codingPath: [any CodingKey] { [] }

    func decodeNil() -> Bool { (try? reader.byte(at: position)) == BinaryTag.null }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try reader.decodeValue(type, at: position, depth: depth)
    }
}
