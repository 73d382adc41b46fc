import CaduceusCLI

/// The `caduceus` executable: everything lives in `CaduceusCLI`.
@main
enum CaduceusMain {
    static func main() async {
        let asyncMain: ([String]?) async -> Void = CaduceusCommand.main
        await asyncMain(nil)
    }
}
