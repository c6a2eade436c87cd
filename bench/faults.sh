#!/usr/bin/env bash
# Fault run (bounded, loopback only): 1,000 malformed, oversized, binary and out-of-order frames across 50 sessions
# while a good call keeps talking. Reproduce: bash bench/faults.sh → bench/results/faults.md
# The other faults have automated tests: model throttling/5xx/mid-stream errors (BedrockResilienceTests), the
# database stopped and restarted mid-call (StoreOutageTests), SIGTERM with live calls (DrainTests).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
source bench/service.sh
build_bench
port=5194
trap 'stop_api $port' EXIT
start_api $port fault-token Relay__MaxFrameBytes=65536 Logging__LogLevel__Default=Error
out=bench/results/faults.md
{
  echo "# Fault run — $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Command: \`bash bench/faults.sh\`. 50 sessions (half set up first) send 1,000 bad frames; one good call talks throughout."
  echo
  echo '```'
  $sim fault --url ws://127.0.0.1:$port/ws --auth-token fault-token --calls 50 --turns 1000
  echo '```'
  echo
  echo "Service still running afterwards: $(api_running $port && echo yes || echo NO)."
} | tee "$out"
