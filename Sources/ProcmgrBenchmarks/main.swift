// procmgr-bench: release-built benchmarks that print the figures recorded in BENCHMARKS.md.
// Run: swift run -c release procmgr-bench [registry|exposition|engine|lifecycle|updates|reload|all|probes|notify|deps|rollout|events|…]

let section = CommandLine.arguments.dropFirst().first ?? "all"
if section != "sse-writer" { print("procmgr-bench \(section) — \(MachineDescription.current)") }
// The engine's lifecycle runs first: its memory figure needs a heap nothing else has grown yet.
if section == "engine" || section == "lifecycle" || section == "all" { await EngineBenchmarks.lifecycle() }
if section == "engine" || section == "updates" || section == "all" { await EngineBenchmarks.updateContention() }
if section == "registry" || section == "all" { await RegistryBenchmarks.hotPath() }
if section == "exposition" || section == "all" { await RegistryBenchmarks.expositionTable() }
if section == "reload" || section == "all" { await ReloadBenchmarks.run() }
if section == "rollout" { RolloutBenchmarks.run() }
if section == "starvation" { await StarvationBenchmarks.run() }
if section == "notify" { await NotifyBenchmarks.run() }
if section == "deps" { await DependencyBenchmarks.run() }
if section == "runtime" || section == "runtime-host" { await RuntimeBenchmarks.main(section: section, arguments: Array(CommandLine.arguments.dropFirst(2))) }
if section == "probes" { await ProbeBenchmarks.run() }
if section == "execution" { await ExecutionContextBenchmarks.run() }
if section == "events" { await EventBenchmarks.run() }
if section == "chaos" { ChaosCommand.run(arguments: Array(CommandLine.arguments.dropFirst(2))) }
if section == "sse" { await SSEBenchmarks.run(arguments: Array(CommandLine.arguments.dropFirst(2))) }
if section == "sse-writer" { SSEBenchmarks.writer(arguments: Array(CommandLine.arguments.dropFirst(2))) }
