import ArgumentParser

/// `--python` and `--python-exe`, shared by the subcommands that can run the Python side by side.
struct PythonOptions: ParsableArguments {
    @Flag(name: .long, help: "Also run the experiment in Python on the installed interpreter, side by side.")
    var python = false

    @Option(
        name: .customLong("python-exe"),
        help: ArgumentHelp(
            "The Python interpreter to use, e.g. a free-threaded python3.13t (implies --python).", valueName: "path")
    )
    var pythonExecutable: String?

    /// Whether the Python side was asked for.
    var enabled: Bool { python || pythonExecutable != nil }

    func validate() throws {
        if let pythonExecutable, pythonExecutable.isEmpty {
            throw ValidationError("--python-exe needs a path to a Python interpreter")
        }
    }
}
