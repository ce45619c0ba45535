import FuzzSupport

runFuzzer { fuzzConfigJSON($0, $1) }
