import Glibc

/// Freezes a cgroup so its members cannot fork while each is SIGKILLed, where v2
/// `cgroup.kill` is missing: v2 `cgroup.freeze` (kernel 5.2+), else the v1 freezer.
struct CgroupFreezer {
    private enum Kind {
        case unified(String)
        case v1(String)
    }

    private let kind: Kind

    /// nil when the cgroup has no freezer (members are then killed in a few rounds).
    init?(cgroup: ProcessCgroup) {
        if let unified = cgroup.unified, CgroupFiles.exists(unified + "/cgroup.freeze") {
            kind = .unified(unified)
        } else if let freezer = cgroup.v1[.freezer] {
            kind = .v1(freezer)
        } else {
            return nil
        }
    }

    /// Asks for the freeze and waits (at most ~20 ms) until the kernel says frozen; the kill
    /// follows either way. Bounded, because it may run on the reactor thread.
    func freeze() {
        switch kind {
        case .unified(let directory): CgroupFiles.write("1", to: directory + "/cgroup.freeze")
        case .v1(let directory): CgroupFiles.write("FROZEN", to: directory + "/freezer.state")
        }
        for _ in 0..<100 where !isFrozen {
            usleep(200)
        }
    }

    /// Lets the killed members run to their death.
    func thaw() {
        switch kind {
        case .unified(let directory): CgroupFiles.write("0", to: directory + "/cgroup.freeze")
        case .v1(let directory): CgroupFiles.write("THAWED", to: directory + "/freezer.state")
        }
    }

    private var isFrozen: Bool {
        switch kind {
        case .unified(let directory): CgroupFiles.readKeyedNumbers(directory + "/cgroup.events")?["frozen"] == 1
        case .v1(let directory): CgroupFiles.read(directory + "/freezer.state", limit: 64)?.trimmingWhitespace == "FROZEN"
        }
    }
}
