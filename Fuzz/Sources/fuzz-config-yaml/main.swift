import FuzzSupport

runFuzzer { fuzzConfigYAML($0, $1) }
