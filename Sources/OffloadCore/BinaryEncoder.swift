/// Encodes `Encodable` values in Offload's compact binary format (layout in ``BinaryTag``).
///
/// Written for the process pool's wire because no binary Codable library is available to the package; measured
/// against `JSONEncoder` in `offload bench-processes` (numbers in docs/design/process-pool.md).
///
/// Limitation: nested containers of one value must be written one after the other (the usual case, and what
/// synthesized conformances do); writing to a container after a sibling nested container was opened throws.
package struct BinaryEncoder: Sendable {
    package init() {}

    /// - Returns: the encoded bytes.
    /// - Throws: `EncodingError` from the value, or for unsupported container use (`superEncoder`).
    package func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let state = BinaryEncodingState()
        try state.encodeTopLevel(value)
        return state.bytes
    }
}

/// `value` as `U`, for a `T` that the caller has just checked to be `U` (`T.self == U.self`): a reinterpretation, not a
/// dynamic cast. The checked comparison is the invariant that makes the bit cast sound.
@inline(__always)
func same<T, U>(_ value: T, _ type: U.Type) -> U {
    unsafeBitCast(value, to: U.self)
}

package final class BinaryEncodingState {
    package var bytes: [UInt8] = []
    /// Identifiers of the open containers, outermost first; a container's index in this stack is its level.
    var open: [Int] = []
    var nextID = 1

    package init() {
        bytes.reserveCapacity(64)
    }

    /// Encodes a whole message: a plain-data value or array as its bytes (``BinaryFixedLayout``), any other array
    /// element by element without a container, anything else through `Codable`.
    package func encodeTopLevel<T: Encodable>(_ value: T) throws {
        if BinaryFixedLayout.isStandardScalar(T.self) { return try encodeValue(value) }
        switch BinaryFixedLayout.decision(for: T.self, sample: value) {
        case .fixed(let fingerprint):
            writeFixed(value, fingerprint)
        case .array(let arrayType):
            try encodeArray(value, as: arrayType)
        case .general:
            try encodeValue(value)
        }
    }

    private func encodeArray<T: Encodable, A: BinaryArrayCoding>(_ value: T, as type: A.Type) throws {
        try same(value, A.self).encodeBinary(into: self)
    }

    /// Encodes one value the way ``encodeTopLevel(_:)`` decided for its type (`decision`), without looking it up:
    /// the items of a batch share one decision.
    package func encodeItem<T: Encodable>(_ value: T, _ decision: FixedLayoutDecision) throws {
        if case .fixed(let fingerprint) = decision { return writeFixed(value, fingerprint) }
        try encodeValue(value)
    }

    package func encodeValue<T: Encodable>(_ value: T) throws {
        if try encodePrimitive(value) { return }
        if T.self == [UInt8].self {
            let raw = same(value, [UInt8].self)
            bytes.append(BinaryTag.bytes)
            bytes.appendVarint(UInt64(raw.count))
            bytes.append(contentsOf: raw)
            return
        }
        // Arrays of the standard numbers are copied as their bytes (format version 2; version 1 wrote an unkeyed
        // container of tagged values, which the decoder still reads).
        if T.self == [Double].self { return writeFixedArray(same(value, [Double].self), ScalarFingerprint.double) }
        if T.self == [Int].self { return writeFixedArray(same(value, [Int].self), ScalarFingerprint.int) }
        if T.self == [UInt64].self { return writeFixedArray(same(value, [UInt64].self), ScalarFingerprint.uint64) }
        if T.self == [Float].self { return writeFixedArray(same(value, [Float].self), ScalarFingerprint.float) }
        if T.self == [Int32].self { return writeFixedArray(same(value, [Int32].self), ScalarFingerprint.int32) }
        if T.self == [UInt32].self { return writeFixedArray(same(value, [UInt32].self), ScalarFingerprint.uint32) }
        if T.self == [Int64].self { return writeFixedArray(same(value, [Int64].self), ScalarFingerprint.int64) }
        if T.self == [Bool].self { return writeFixedArray(same(value, [Bool].self), ScalarFingerprint.bool) }
        let level = open.count
        let before = bytes.count
        let encoder = BinaryValueEncoder(state: self, level: level)
        try value.encode(to: encoder)
        if bytes.count == before {
            bytes.append(BinaryTag.keyed)
            bytes.append(BinaryTag.end)
        }
        closeContainers(above: level)
    }

    /// Writes `value` if it is a primitive, without allocating an encoder. Returns whether it did.
    ///
    /// Types are compared by metadata pointer (`T.self == Int.self`) before any conversion: a chain of `as?` casts
    /// costs a failed dynamic cast per primitive type for every struct encoded (measured with perf: the top cost).
    @inline(__always)
    func encodePrimitive<T: Encodable>(_ value: T) throws -> Bool {
        if T.self == Int.self {
            writeSigned(Int64(same(value, Int.self)))
        } else if T.self == String.self {
            writeString(same(value, String.self))
        } else if T.self == Double.self {
            writeDouble(same(value, Double.self))
        } else if T.self == Bool.self {
            bytes.append(same(value, Bool.self) ? BinaryTag.true : BinaryTag.false)
        } else if T.self == UInt8.self {
            writeUnsigned(UInt64(same(value, UInt8.self)))
        } else if T.self == Int64.self {
            writeSigned(same(value, Int64.self))
        } else if T.self == UInt64.self {
            writeUnsigned(same(value, UInt64.self))
        } else if T.self == UInt.self {
            writeUnsigned(UInt64(same(value, UInt.self)))
        } else if T.self == Int32.self {
            writeSigned(Int64(same(value, Int32.self)))
        } else if T.self == UInt32.self {
            writeUnsigned(UInt64(same(value, UInt32.self)))
        } else if T.self == Float.self {
            writeFloat(same(value, Float.self))
        } else if T.self == Int16.self {
            writeSigned(Int64(same(value, Int16.self)))
        } else if T.self == UInt16.self {
            writeUnsigned(UInt64(same(value, UInt16.self)))
        } else if T.self == Int8.self {
            writeSigned(Int64(same(value, Int8.self)))
        } else {
            return false
        }
        return true
    }

    func closeContainers(above level: Int) {
        while open.count > level {
            bytes.append(BinaryTag.end)
            open.removeLast()
        }
    }

    func openContainer(tag: UInt8) -> (id: Int, level: Int) {
        bytes.append(tag)
        let id = nextID
        nextID += 1
        open.append(id)
        return (id, open.count - 1)
    }

    /// Called before each entry a container writes: closes nested containers it opened earlier.
    func prepareEntry(container id: Int, level: Int) throws {
        guard level < open.count, open[level] == id else {
            throw EncodingError.invalidValue(
                id,
                EncodingError.Context(
                    codingPath: [],
                    debugDescription: "BinaryEncoder: write to a container that was already closed"
                )
            )
        }
        closeContainers(above: level + 1)
    }

    func writeKey(_ key: String) {
        var key = key
        key.withUTF8 { utf8 in
            bytes.appendVarint(UInt64(utf8.count) << 1 | 1)
            bytes.append(contentsOf: utf8)
        }
    }

    @inline(__always) func writeSigned(_ value: Int64) {
        bytes.append(BinaryTag.signed)
        bytes.appendVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    @inline(__always) func writeUnsigned(_ value: UInt64) {
        bytes.append(BinaryTag.unsigned)
        bytes.appendVarint(value)
    }

    @inline(__always) func writeDouble(_ value: Double) {
        bytes.append(BinaryTag.double)
        bytes.appendLittleEndian(value.bitPattern, bytes: 8)
    }

    @inline(__always) func writeFloat(_ value: Float) {
        bytes.append(BinaryTag.float)
        bytes.appendLittleEndian(UInt64(value.bitPattern), bytes: 4)
    }

    func writeString(_ value: String) {
        var value = value
        bytes.append(BinaryTag.string)
        value.withUTF8 { utf8 in
            bytes.appendVarint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    static func unsupported(_ what: String) -> EncodingError {
        EncodingError.invalidValue(
            what,
            EncodingError.Context(codingPath: [], debugDescription: "BinaryEncoder does not support \(what)")
        )
    }
}

/// The `Encoder` handed to one value's `encode(to:)`. A struct of two words, so that passing it as `any Encoder`
/// allocates nothing; the container it opened is the open container at its level (see `container(tag:)`).
struct BinaryValueEncoder: Encoder {
    let state: BinaryEncodingState
    let level: Int

    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(state: BinaryEncodingState, level: Int) {
        self.state = state
        self.level = level
    }

    /// The container this value opened, or a new one. A value is encoded when nothing above its parent's container
    /// is open (the parent closed its earlier children), so a container open at this value's level is its own.
    private func container(tag: UInt8) -> (id: Int, level: Int) {
        if level < state.open.count { return (state.open[level], level) }
        return state.openContainer(tag: tag)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let (id, level) = container(tag: BinaryTag.keyed)
        return KeyedEncodingContainer(BinaryKeyedEncoder<Key>(state: state, id: id, level: level))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let (id, level) = container(tag: BinaryTag.unkeyed)
        return BinaryUnkeyedEncoder(state: state, id: id, level: level)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        BinarySingleValueEncoder(state: state)
    }
}

struct BinaryKeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let state: BinaryEncodingState
    let id: Int
    let level: Int
    var codingPath: [any CodingKey] { [] }

    private func entry(_ key: Key) throws {
        try state.prepareEntry(container: id, level: level)
        state.writeKey(key.stringValue)
    }

    mutating func encodeNil(forKey key: Key) throws {
        try entry(key)
        state.bytes.append(BinaryTag.null)
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try entry(key)
        try state.encodeValue(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type,
        forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        // A failure here (a write to a closed container) cannot throw; it is reported by the next write instead.
        try? entry(key)
        let (id, level) = state.openContainer(tag: BinaryTag.keyed)
        return KeyedEncodingContainer(BinaryKeyedEncoder<NestedKey>(state: state, id: id, level: level))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        try? entry(key)
        let (id, level) = state.openContainer(tag: BinaryTag.unkeyed)
        return BinaryUnkeyedEncoder(state: state, id: id, level: level)
    }

    mutating func superEncoder() -> any Encoder { BinaryFailingEncoder() }
    mutating func superEncoder(forKey key: Key) -> any Encoder { BinaryFailingEncoder() }
}

/// Three words (the container's identifier and level share one), so that `any UnkeyedEncodingContainer` holds it
/// inline instead of allocating a box.
struct BinaryUnkeyedEncoder: UnkeyedEncodingContainer {
    let state: BinaryEncodingState
    private let slot: Int
    var count = 0
    var codingPath: [any CodingKey] { [] }
    var id: Int { slot >> 24 }
    var level: Int { slot & 0xFF_FFFF }

    init(state: BinaryEncodingState, id: Int, level: Int) {
        self.state = state
        self.slot = id << 24 | level
    }

    mutating func encodeNil() throws {
        try state.prepareEntry(container: id, level: level)
        state.bytes.append(BinaryTag.null)
        count += 1
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try state.prepareEntry(container: id, level: level)
        try state.encodeValue(value)
        count += 1
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type
    ) -> KeyedEncodingContainer<NestedKey> {
        try? state.prepareEntry(container: id, level: level)
        count += 1
        let (id, level) = state.openContainer(tag: BinaryTag.keyed)
        return KeyedEncodingContainer(BinaryKeyedEncoder<NestedKey>(state: state, id: id, level: level))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        try? state.prepareEntry(container: id, level: level)
        count += 1
        let (id, level) = state.openContainer(tag: BinaryTag.unkeyed)
        return BinaryUnkeyedEncoder(state: state, id: id, level: level)
    }

    mutating func superEncoder() -> any Encoder { BinaryFailingEncoder() }
}

struct BinarySingleValueEncoder: SingleValueEncodingContainer {
    let state: BinaryEncodingState
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil() throws { state.bytes.append(BinaryTag.null) }
    mutating func encode<T: Encodable>(_ value: T) throws { try state.encodeValue(value) }
}

/// Returned for `superEncoder()`: every container it hands out fails on first use.
struct BinaryFailingEncoder: Encoder {
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(BinaryFailingKeyed<Key>())
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer { BinaryFailingUnkeyed() }
    func singleValueContainer() -> any SingleValueEncodingContainer { BinaryFailingSingle() }
}

struct BinaryFailingKeyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
    var codingPath: [any CodingKey] { [] }
    mutating func encodeNil(forKey key: Key) throws { throw BinaryEncodingState.unsupported("superEncoder") }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        throw BinaryEncodingState.unsupported("superEncoder")
    }
    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type,
        forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> { KeyedEncodingContainer(BinaryFailingKeyed<NestedKey>()) }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer { BinaryFailingUnkeyed() }
    mutating func superEncoder() -> any Encoder { BinaryFailingEncoder() }
    mutating func superEncoder(forKey key: Key) -> any Encoder { BinaryFailingEncoder() }
}

struct BinaryFailingUnkeyed: UnkeyedEncodingContainer {
    var codingPath: [any CodingKey] { [] }
    var count: Int { 0 }
    mutating func encodeNil() throws { throw BinaryEncodingState.unsupported("superEncoder") }
    mutating func encode<T: Encodable>(_ value: T) throws { throw BinaryEncodingState.unsupported("superEncoder") }
    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type
    ) -> KeyedEncodingContainer<NestedKey> { KeyedEncodingContainer(BinaryFailingKeyed<NestedKey>()) }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { BinaryFailingUnkeyed() }
    mutating func superEncoder() -> any Encoder { BinaryFailingEncoder() }
}

struct BinaryFailingSingle: SingleValueEncodingContainer {
    var codingPath: [any CodingKey] { [] }
    mutating func encodeNil() throws { throw BinaryEncodingState.unsupported("superEncoder") }
    mutating func encode<T: Encodable>(_ value: T) throws { throw BinaryEncodingState.unsupported("superEncoder") }
}
