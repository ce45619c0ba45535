import FuzzSupport

runFuzzer { fuzzExposition($0, $1) }
