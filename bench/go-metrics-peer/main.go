// go-metrics-peer serves /metrics with client_golang for the same synthetic agent as
// Sources/http-bench/SyntheticAgent.swift: the same six families, help texts, label names,
// label values and sample values (SplitMix64, seed 42, drawn in the same order), so the two
// servers' expositions are byte for byte comparable.
//
// Build offline against Debian's packages (see bench/compare-metrics.sh):
//
//	GOPATH=/usr/share/gocode GO111MODULE=off go build -o go-metrics-peer .
//
// Usage: go-metrics-peer -processes N. It listens on 127.0.0.1:0, prints "port P" once
// it is listening, and serves until killed.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type splitMix64 struct{ state uint64 }

func (s *splitMix64) next() uint64 {
	s.state += 0x9E3779B97F4A7C15
	z := s.state
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

var (
	states  = []string{"finished", "running", "starting", "terminated", "terminating"}
	reasons = []string{"config", "exit", "health", "heartbeat", "manual"}
	phases  = []string{"config", "health", "heartbeat", "spawn", "sync", "terminated", "terminating"}
)

func registry(processes int) *prometheus.Registry {
	registry := prometheus.NewRegistry()
	transitions := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "procmgr_state_transitions_total", Help: "Entries into each state."}, []string{"process", "state"})
	restarts := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "procmgr_restarts_total", Help: "Restarts by reason."}, []string{"process", "reason"})
	errors := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "procmgr_errors_total", Help: "Errors by phase."}, []string{"process", "phase"})
	healthy := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "procmgr_process_healthy", Help: "1 healthy, 0 not."}, []string{"process"})
	cpu := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "procmgr_child_cpu_seconds_total", Help: "CPU time of the process group."}, []string{"process"})
	memory := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "procmgr_child_resident_memory_bytes", Help: "Resident memory of the process group."}, []string{"process"})
	registry.MustRegister(transitions, restarts, errors, healthy, cpu, memory)

	random := splitMix64{state: 42}
	for index := 0; index < processes; index++ {
		id := fmt.Sprintf("svc-%d", index)
		for _, state := range states {
			transitions.WithLabelValues(id, state).Add(float64(random.next() % 50))
		}
		for _, reason := range reasons {
			restarts.WithLabelValues(id, reason).Add(float64(random.next() % 5))
		}
		for _, phase := range phases {
			errors.WithLabelValues(id, phase).Add(float64(random.next() % 3))
		}
		if random.next()%10 == 0 {
			healthy.WithLabelValues(id).Set(0)
		} else {
			healthy.WithLabelValues(id).Set(1)
		}
		cpu.WithLabelValues(id).Add(float64(random.next()%1_000_000) / 1000)
		memory.WithLabelValues(id).Set(float64(20_000_000 + random.next()%500_000_000))
	}
	return registry
}

func main() {
	processes := flag.Int("processes", 100, "synthetic managed processes (20 series each)")
	flag.Parse()

	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(registry(*processes), promhttp.HandlerOpts{}))
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("port %d\n", listener.Addr().(*net.TCPAddr).Port)
	os.Stdout.Sync()
	log.Fatal(http.Serve(listener, mux))
}
