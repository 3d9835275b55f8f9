import Glibc
import Offload
import Synchronization

/// A progress bar on stderr for a long map, only when stderr is a terminal and only once the work has run for a
/// second: piped or redirected output (CI logs, `> report.txt`) never sees it.
enum TerminalProgress {
    /// A monitor drawing `label` and a ``ProgressBar`` on stderr, or `nil` when stderr is not a terminal (the map then
    /// pays nothing for progress).
    static func monitor(_ label: String) -> ProgressMonitor? {
        guard isatty(2) != 0 else { return nil }
        let bar = ProgressBar(width: 30)
        let shown = Atomic<Bool>(false)
        return ProgressMonitor { snapshot in
            if snapshot.isFinished {
                if shown.load(ordering: .relaxed) { write("\r\u{1B}[K") }
            } else if snapshot.elapsed > .seconds(1) {
                shown.store(true, ordering: .relaxed)
                write("\r\u{1B}[K\(label) " + bar.render(snapshot))
            }
        }
    }

    private static func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in _ = Glibc.write(2, bytes.baseAddress, bytes.count) }
    }
}
