import FuzzSupport

runFuzzer { fuzzEtcdWatch($0, $1) }
