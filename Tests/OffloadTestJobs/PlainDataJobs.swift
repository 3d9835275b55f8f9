import Offload

/// A plain-data job and output (two 8-byte fields, no padding): the codec copies it as its bytes.
public struct PlainPoint: Job, Equatable {
    public var x: Int
    public var y: Double

    public init(x: Int, y: Double) {
        self.x = x
        self.y = y
    }

    /// The point moved by (1, 0.5): the output is plain data too.
    public func run() throws -> PlainPoint { PlainPoint(x: x + 1, y: y + 0.5) }
}

/// Plain data whose `Codable` conformance does more than copy its fields: the decoder clamps `percent` to 0...100,
/// so the codec must keep using it.
public struct ClampedPercent: Job, Equatable {
    public var percent: Int

    public init(percent: Int) {
        self.percent = percent
    }

    enum CodingKeys: String, CodingKey { case percent }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        percent = min(100, max(0, try container.decode(Int.self, forKey: .percent)))
    }

    public func run() throws -> Int { percent }
}
