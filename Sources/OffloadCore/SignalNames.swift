// Only `strerror` and the signal numbers come from Glibc here: the jobs layer makes no system calls (checked by
// scripts/check-architecture.sh).
import Glibc

/// `SIGSEGV`, `SIGKILL`, ...: the conventional name of a signal number, for error messages.
package func signalName(_ signal: Int32) -> String {
    switch signal {
    case SIGHUP: return "SIGHUP"
    case SIGINT: return "SIGINT"
    case SIGQUIT: return "SIGQUIT"
    case SIGILL: return "SIGILL"
    case SIGTRAP: return "SIGTRAP"
    case SIGABRT: return "SIGABRT"
    case SIGBUS: return "SIGBUS"
    case SIGFPE: return "SIGFPE"
    case SIGKILL: return "SIGKILL"
    case SIGSEGV: return "SIGSEGV"
    case SIGPIPE: return "SIGPIPE"
    case SIGALRM: return "SIGALRM"
    case SIGTERM: return "SIGTERM"
    case SIGXCPU: return "SIGXCPU"
    default: return "signal \(signal)"
    }
}

/// `strerror` as a Swift string.
package func errnoDescription(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return String(cString: text)
}
