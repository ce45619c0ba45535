import FuzzSupport

runFuzzer { fuzzValues($0, $1) }
