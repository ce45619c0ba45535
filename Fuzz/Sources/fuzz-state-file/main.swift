import FuzzSupport

runFuzzer { fuzzStateFile($0, $1) }
