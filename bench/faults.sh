#!/usr/bin/env bash
# Fault and attack runs (bounded, loopback only). Reproduce: bash bench/faults.sh → bench/results/faults.md
# 1. 1,000 malformed, oversized, binary and out-of-order frames across 50 sessions while a good call keeps talking.
# 2. The call-path attacks: a captured upgrade replayed while its call is live and after it ended, the bare /ws signed,
#    an altered ticket, a setup naming another live call, an expired ticket, a flood of large partial prompts beside
#    a talking call, four 25 MB unsigned webhooks (with the service's memory before and after), a burst of unsigned
#    webhooks from one client.
# The other faults have automated tests: model throttling/5xx/mid-stream errors and stalls (BedrockResilienceTests),
# the database stopped and restarted mid-call and for new calls (StoreOutageTests), writes DynamoDB refuses
# (PoisonWriteTests), SIGTERM with live calls (DrainTests); bench/crash.sh measures what a SIGKILL loses.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
source bench/service.sh
build_bench
port=5194
trap 'stop_api $port' EXIT
out=bench/results/faults.md
{
  echo "# Fault and attack runs — $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Command: \`bash bench/faults.sh\`. The service runs as in production (signatures checked), on loopback."
  echo
  echo "## Bad frames"
  echo
  echo "50 sessions (half set up first) send 1,000 bad frames; one good call talks throughout."
  echo
  echo '```'
  start_api $port fault-token Relay__MaxFrameBytes=65536 Logging__LogLevel__Default=Error
  $sim fault --url ws://127.0.0.1:$port/ws --auth-token fault-token --calls 50 --turns 1000
  echo '```'
  echo
  echo "Service still running afterwards: $(api_running $port && echo yes || echo NO)."
  stop_api $port
  echo
  echo "## Attacks"
  echo
  echo "Relay:TicketLifetime is 5 s for the expired-ticket attack. Each line: what was tried, what came back, whether"
  echo "that is what the service must do."
  echo
  echo '```'
  start_api $port attack-token Relay__TicketLifetime=00:00:05 Relay__MaxFrameBytes=65536 Logging__LogLevel__Default=Error
  $sim load --url ws://127.0.0.1:$port/ws --auth-token attack-token --calls 20 --seconds 3 --warmup-seconds 0 >/dev/null  # JIT warm-up
  # A line saying NOT AS REQUIRED is the finding; the run goes on to the end.
  $sim attack --url ws://127.0.0.1:$port/ws --auth-token attack-token --only replay,bare,forged,crossbound,flood --turns 200 || true
  $sim attack --url ws://127.0.0.1:$port/ws --auth-token attack-token --only expired --seconds 6 || true
  before=$(rss_kb $port)
  $sim attack --url ws://127.0.0.1:$port/ws --auth-token attack-token --only body || true
  sleep 1
  after=$(rss_kb $port)
  echo "service RSS before the 25 MB bodies ${before} KB, after ${after} KB (growth $(( (after - before) / 1024 )) MB)"
  $sim attack --url ws://127.0.0.1:$port/ws --auth-token attack-token --only burst || true
  echo '```'
  echo
  echo "Service still running afterwards: $(api_running $port && echo yes || echo NO)."
} | tee "$out"
