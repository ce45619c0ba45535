import FuzzSupport

runFuzzer { fuzzAcceptEncoding($0, $1) }
