import FuzzSupport

runFuzzer { fuzzBearerToken($0, $1) }
