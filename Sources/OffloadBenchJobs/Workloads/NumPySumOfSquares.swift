/// NumPy's `(a * a).sum()` over `n` doubles, as 4 tasks on the same array: the texts' example of a library that
/// "releases the GIL", and Swift's answer to it — the same loop scalar, vectorised with SIMD types, and vectorised on a
/// ThreadPool.
///
/// The values are `Double(i & 1023)`: every square and every partial sum is an integer below 2^53, so the sum is
/// exact in any order — scalar, SIMD lanes, threads or NumPy's pairwise summation — and every lane's checksum agrees.
public struct NumPySumOfSquares: VectorWorkload {
    public static let name = "numpy-sum-of-squares"
    public static let sizeMeaning = "doubles in the array (4 tasks each sum all of them)"
    /// 20 million doubles (160 MB), the size the Python texts' NumPy claim was measured at.
    public static let defaultN = 20_000_000
    public static let defaultPythonN = 1_000_000
    /// 4 tasks, as in the texts.
    public static let taskCount = 4
    public static let lanes: [BenchLane] = [
        .sequential, .simd, .threadpool, .simdThreadpool,
        .pythonSequential, .pythonProcess, .pythonNumpy, .pythonNumpyThread,
    ]
    public static let python = """
        _NUMPY_ARRAYS = {}


        def numpy_array(n):
            \"\"\"The array of Double(i & 1023), built once per size (before the clock starts).\"\"\"
            import numpy as np
            a = _NUMPY_ARRAYS.get(n)
            if a is None:
                a = (np.arange(n, dtype=np.int64) & 1023).astype(np.float64)
                _NUMPY_ARRAYS[n] = a
            return a


        def numpy_sum_of_squares(n):
            \"\"\"(a * a).sum(): the multiply and the sum run in C, without the GIL.\"\"\"
            a = numpy_array(n)
            return int((a * a).sum()) & MASK


        def pure_sum_of_squares(n):
            \"\"\"The same sum as a pure-Python loop.\"\"\"
            total = 0.0
            for i in range(n):
                x = float(i & 1023)
                total += x * x
            return int(total) & MASK


        def make_numpy_sum_of_squares(n):
            numpy_array(n)
            return numpy_sum_of_squares, [n] * 4


        WORKLOADS["numpy-sum-of-squares"] = lambda n: (pure_sum_of_squares, [n] * 4)
        NUMPY_WORKLOADS["numpy-sum-of-squares"] = make_numpy_sum_of_squares
        """

    public let n: Int
    /// `Double(i & 1023)` for `i` in `0..<n`.
    public let values: [Double]

    public init(n: Int) {
        self.n = n
        self.values = (0..<n).map { Double($0 & 1023) }
    }

    public var summary: String {
        "\(Self.taskCount) tasks of (a * a).sum() over the same \(grouped(n)) doubles (\(grouped((n * 8) >> 20)) MB)"
    }

    public var items: [Int] { Array(0..<Self.taskCount) }

    public func run(_ item: Int) -> UInt64 {
        values.withUnsafeBufferPointer { Self.sumOfSquaresScalar($0) }
    }

    public func runVectorised(_ item: Int) -> UInt64 {
        values.withUnsafeBufferPointer { Self.sumOfSquaresSIMD($0) }
    }

    /// One accumulator, one element at a time. The compiler does not vectorise it: reordering floating-point
    /// additions could change the result, so it keeps their order.
    @inline(never)
    public static func sumOfSquaresScalar(_ values: UnsafeBufferPointer<Double>) -> UInt64 {
        var total = 0.0
        for value in values {
            total += value * value
        }
        return UInt64(total)
    }

    /// Two `SIMD8<Double>` accumulators (16 independent sums), added up at the end: the reordering the scalar loop
    /// may not do, written out. Exact here, because every partial sum is an integer below 2^53.
    @inline(never)
    public static func sumOfSquaresSIMD(_ values: UnsafeBufferPointer<Double>) -> UInt64 {
        guard let base = values.baseAddress else { return 0 }
        let raw = UnsafeRawPointer(base)
        let width = SIMD8<Double>.scalarCount
        var first = SIMD8<Double>()
        var second = SIMD8<Double>()
        var index = 0
        while index + 2 * width <= values.count {
            let a = raw.loadUnaligned(fromByteOffset: index * 8, as: SIMD8<Double>.self)
            let b = raw.loadUnaligned(fromByteOffset: (index + width) * 8, as: SIMD8<Double>.self)
            first += a * a
            second += b * b
            index += 2 * width
        }
        var total = (first + second).sum()
        while index < values.count {
            total += values[index] * values[index]
            index += 1
        }
        return UInt64(total)
    }
}
