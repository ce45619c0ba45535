import Testing
@testable import ProcmgrConfig

@Suite("Value syntax")
struct ValueSyntaxTests {
    @Test("valid durations", arguments: [
        ("500ms", Duration.milliseconds(500)), ("10s", .seconds(10)), ("2m", .seconds(120)), ("1h", .seconds(3600)),
        ("1m30s", .seconds(90)), ("1h2m3s4ms", .milliseconds(3_723_004)), ("0s", .zero), ("0ms", .zero),
        ("1.5s", .milliseconds(1500)), ("0.25s", .milliseconds(250)), ("90s", .seconds(90)), ("1h30m", .seconds(5400)),
        ("2.5ms", .microseconds(2500)),
    ])
    func validDuration(text: String, expected: Duration) {
        #expect(DurationText.parse(text) == expected)
    }

    @Test("invalid durations", arguments: [
        "", "10", "10x", "-5s", "+5s", "s", "1.s", ".5s", "1 s", " 1s", "1s ", "30s1m", "1s1s", "1ms1s", "1d", "1S",
        "10us", "1e3s", "99999999999999999999h", "3000000h", "1m30", "ms",
    ])
    func invalidDuration(text: String) {
        #expect(DurationText.parse(text) == nil)
    }

    @Test("durations format back in the same syntax", arguments: [
        (Duration.zero, "0s"), (.milliseconds(500), "500ms"), (.seconds(90), "1m30s"), (.seconds(3600), "1h"),
        (.milliseconds(3_723_004), "1h2m3s4ms"), (.microseconds(1500), "1.5ms"), (.seconds(60), "1m"),
    ])
    func formatDuration(duration: Duration, text: String) {
        #expect(DurationText.format(duration) == text)
        #expect(DurationText.parse(text) == duration)
    }

    @Test("0s is allowed for initial_delay and backoff.initial only")
    func zeroDurations() throws {
        let spec = try Support.spec("port: auto", "backoff: { initial: 0s }", "health: { http: { path: /, initial_delay: 0s } }")
        #expect(spec.backoff.initial == .zero)
        #expect(spec.liveness?.initialDelay == .zero)
        for field in ["backoff: { max: 0s }", "backoff: { reset_after: 0ms }", "heartbeat: { interval: 0s }",
                      "heartbeat: { timeout: 0s }"] {
            #expect(Support.problems(Support.process(field)).count == 1, "\(field)")
        }
    }

    @Test("signal names with and without SIG, any case", arguments: [
        ("TERM", StopSignal.term, Int32(15)), ("SIGTERM", .term, 15), ("int", .int, 2), ("SIGINT", .int, 2),
        ("QUIT", .quit, 3), ("HUP", .hup, 1), ("sighup", .hup, 1), ("KILL", .kill, 9), ("USR1", .usr1, 10),
        ("SIGUSR2", .usr2, 12),
    ])
    func signals(name: String, signal: StopSignal, number: Int32) throws {
        #expect(StopSignal(name: name) == signal)
        #expect(signal.signalNumber == number)
        #expect(try Support.spec("stop_signal: \(name)").stopSignal == signal)
    }

    @Test("unknown signals are refused", arguments: ["STOP", "SIG", "TERM2", "SIGSIGTERM", ""])
    func unknownSignal(name: String) {
        #expect(StopSignal(name: name) == nil)
    }

    @Test("port spec forms", arguments: [
        ("auto", PortSpec.auto), ("none", PortSpec.none), ("1", .fixed(1)), ("8080", .fixed(8080)), ("65535", .fixed(65535)),
    ])
    func portSpec(text: String, expected: PortSpec) throws {
        let port = text == "none" ? "port: none" : "port: \(text)"
        #expect(try Support.spec(port).port == expected)
        #expect(expected.description == text)
    }

    @Test("port spec helpers")
    func portSpecHelpers() {
        #expect(PortSpec.fixed(80).fixedPort == 80)
        #expect(PortSpec.auto.fixedPort == nil)
        #expect(PortSpec.auto.hasPort)
        #expect(!PortSpec.none.hasPort)
    }

    @Test("fixed ports just outside the auto range are allowed (inside it they are refused)")
    func fixedOutsideRange() throws {
        for port in [7999, 9001] {
            let config = try Support.load("agent:\n  ports: { range: 8000-9000 }\n" + Support.process("port: \(port)"))
            #expect(config.processes[0].port == .fixed(UInt16(port)))
            #expect(!config.agent.portRange.contains(UInt16(port)))
        }
        #expect(Support.problems("agent:\n  ports: { range: 8000-9000 }\n" + Support.process("port: 8000")).count == 1)
    }

    @Test("sizes", arguments: [
        ("10MiB", 10_485_760), ("1KiB", 1024), ("2GiB", 2_147_483_648), ("1KB", 1000), ("5MB", 5_000_000),
        ("1GB", 1_000_000_000), ("512B", 512), ("4096", 4096), ("10 MiB", 10_485_760),
    ])
    func sizes(text: String, bytes: Int) {
        #expect(ByteSize.parse(text) == bytes)
    }

    @Test("invalid sizes", arguments: ["", "MiB", "10XB", "10mib", "1.5MiB", "-1KiB", "10  MiB", "10MiB ", "99999999999GiB"])
    func invalidSizes(text: String) {
        #expect(ByteSize.parse(text) == nil)
    }

    @Test("size in a config: unit string or plain integer bytes")
    func sizeInConfig() throws {
        #expect(try Support.spec("log_file: { path: l, max_bytes: 1MB }").logFile?.maxBytes == 1_000_000)
        #expect(try Support.spec("log_file: { path: l, max_bytes: 2048 }").logFile?.maxBytes == 2048)
        #expect(ByteSize.format(10_485_760) == "10MiB")
        #expect(ByteSize.format(1000) == "1000B")
    }

    @Test("listen addresses", arguments: [
        ("127.0.0.1:9464", "127.0.0.1", UInt16(9464)), ("[::1]:9464", "::1", 9464), ("0.0.0.0:80", "0.0.0.0", 80),
        ("[::]:1", "::", 1), ("localhost:8080", "localhost", 8080), ("[fe80::1:2]:9", "fe80::1:2", 9),
        ("[::ffff:10.0.0.1]:5", "::ffff:10.0.0.1", 5), ("[1:2:3:4:5:6:7:8]:5", "1:2:3:4:5:6:7:8", 5),
    ])
    func listenAddresses(text: String, host: String, port: UInt16) {
        let address = ListenAddress(parsing: text)
        #expect(address == ListenAddress(host: host, port: port))
        #expect(address?.description == text)
    }

    @Test("invalid listen addresses", arguments: [
        "9464", ":9464", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "::1:9464", "[::1]", "[::1]9464", "[:::1]:1",
        "256.0.0.1:1", "[1:2:3:4:5:6:7:8:9]:1", "[g::1]:1", "a b:1", "127.0.0.1:80a", "[1::2::3]:4",
    ])
    func invalidListenAddresses(text: String) {
        #expect(ListenAddress(parsing: text) == nil)
    }

    @Test("port ranges")
    func portRanges() {
        #expect(PortRange(parsing: "30000-31000")?.count == 1001)
        #expect(PortRange(parsing: "80-80")?.range == 80...80)
        for bad in ["31000-30000", "0-10", "1-65536", "100", "-", "1-", "a-b", "1-2-3", " 1-2"] {
            #expect(PortRange(parsing: bad) == nil, "\(bad)")
        }
    }
}
